// Fuzzing the inbox API with generated bodies, query strings and paths: login and salt (no session), and
// every protected route without or with a forged session: never a 5xx, never a crash, a 4xx says why.
// 2,000 cases.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import { buildTestApp, type TestApp, testConfig } from '../helper.js';
import { expectClear4xxOr2xx, fuzzSeed } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp({ config: testConfig({ rateLimit: { max: 1_000_000, windowMs: 60_000 } }) });
  await createCoordinator(
    t.db,
    t.keyring,
    {
      name: 'Fuzz',
      login: 'fuzz.coord',
      inbox: 'coordination',
      passphrase: 'correct horse battery staple fuzz',
    },
    ['coordination'],
  );
});
afterAll(async () => {
  await t?.close();
});

const str = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 }));
const ref = fc.oneof(
  fc.constantFrom('R-ABC123', 'R-000000', '..', '%00', 'R-%2F'),
  str.map(encodeURIComponent),
);
const routes: [string, fc.Arbitrary<string>][] = [
  ['POST', fc.constant('/api/v1/auth/salt')],
  ['POST', fc.constant('/api/v1/auth/login')],
  ['POST', fc.constant('/api/v1/auth/logout')],
  ['POST', fc.constant('/api/v1/account/passphrase')],
  ['POST', fc.constant('/api/v1/account/totp/enable')],
  ['POST', fc.constant('/api/v1/admin/coordinators')],
  ['GET', fc.constant('/api/v1/reports')],
  ['GET', ref.map((r) => `/api/v1/reports/${r}`)],
  ['POST', ref.map((r) => `/api/v1/reports/${r}`)],
  ['POST', ref.map((r) => `/api/v1/reports/${r}/notes`)],
  ['POST', ref.map((r) => `/api/v1/reports/${r}/replies`)],
  ['POST', ref.map((r) => `/api/v1/reports/${r}/assign`)],
  ['GET', fc.tuple(str, fc.integer()).map(([i, v]) => `/api/v1/flows/${encodeURIComponent(i)}/${v}`)],
  ['POST', fc.constant('/api/v1/exports')],
];
const request = fc.record({
  route: fc
    .constantFrom(...routes.keys())
    .chain((i) => routes[i]![1].map((path) => ({ method: routes[i]![0], path }))),
  query: fc.dictionary(fc.constantFrom('limit', 'cursor', 'status', 'inbox', 'purpose', 'q'), str, {
    maxKeys: 3,
  }),
  body: fc.oneof(
    fc.record(
      { login: fc.oneof(fc.constant('fuzz.coord'), str), loginKey: str, totp: str, code: str, kind: str },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 3 }),
  ),
  raw: fc.boolean(),
  cookie: fc.oneof(
    fc.constant(undefined),
    str.map((s) => `intake_session=${encodeURIComponent(s)}`),
  ),
  csrf: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 40 })),
});

describe('fuzz: inbox API', () => {
  it('2,000 generated requests: never a 5xx, a 4xx says why', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const qs = new URLSearchParams(r.query).toString();
        const res = await t.app.inject({
          method: r.route.method as 'GET' | 'POST',
          url: `${r.route.path}${qs ? `?${qs}` : ''}`,
          headers: {
            ...(r.route.method === 'POST' ? { 'content-type': 'application/json' } : {}),
            ...(r.cookie ? { cookie: r.cookie } : {}),
            ...(r.csrf !== undefined ? { 'x-csrf-token': r.csrf } : {}),
          },
          ...(r.route.method === 'POST'
            ? { payload: r.raw ? JSON.stringify(r.body).slice(0, -1) || '{' : JSON.stringify(r.body) }
            : {}),
        });
        // 404 on an unknown path variant is fine; the answer must still be a clear one.
        expectClear4xxOr2xx(res, `${r.route.method} ${r.route.path}`);
      }),
      { numRuns: 2000, seed: fuzzSeed },
    );
    const alive = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(alive.statusCode).toBe(200);
  });
});
