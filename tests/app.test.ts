import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, testConfig } from './helper.js';

describe('app foundation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers /healthz and /readyz', async () => {
    const h = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(h.statusCode).toBe(200);
    // The test app runs Teams in local mode (NODE_ENV=test, no MicrosoftAppId) and no Telegram token.
    expect(h.json()).toEqual({
      status: 'ok',
      channels: { telegram: 'off', teams: 'local (no authentication)' },
    });
    const r = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(200);
    // In development an inbox without a coordinator is a warning (a fresh start is ready); see intake tests
    // for the production refusal.
    expect(r.json()).toEqual({
      status: 'ready',
      checks: {
        database: 'ok',
        migrations: 'ok',
        inboxes:
          'warning: inbox coordination has no coordinator key (run `intake coordinator add --inbox coordination`)',
        unclosedReports: 'ok',
      },
      channels: { telegram: 'off', teams: 'local (no authentication)' },
    });
  });

  it('sets security headers and a request id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one line per request: the route pattern, the status and the time, never the query', async () => {
    const before = t.logs.lines.length;
    const res = await t.app.inject({ method: 'GET', url: '/healthz?who=SECRET-MARKER-LOG' });
    const lines = t.logs.lines
      .slice(before)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.reqId === res.headers['x-request-id']);
    expect(lines.map((l) => l.msg)).toEqual(['request completed']);
    expect(lines[0]).toMatchObject({ level: 30, res: { statusCode: 200 } });
    expect(typeof lines[0]?.responseTime).toBe('number');
    expect(JSON.stringify(lines[0])).toContain('/healthz');
    expect(t.logs.text).not.toContain('SECRET-MARKER-LOG');
  });

  it('exposes Prometheus metrics with HTTP durations by route and the service counters', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain(
      'intake_http_request_duration_seconds_bucket{le="0.002",method="GET",route="/healthz"',
    );
    for (const name of ['intake_turns_total', 'intake_submissions_total', 'intake_errors_total']) {
      expect(res.body).toContain(`# TYPE ${name} counter`);
    }
  });

  it('serves the OpenAPI document and its UI at /docs', async () => {
    const doc = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toBe('3.0.3');
    expect(Object.keys(doc.json().paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/metrics']),
    );
    const ui = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe('not_found');
  });
});

describe('body handling', () => {
  it('refuses invalid JSON and oversized bodies with a clear 4xx, quoting nothing', async () => {
    const config = testConfig();
    config.server.bodyLimitBytes = 2048;
    const t = await buildTestApp({ config });
    t.app.post('/__test/json', async () => ({ ok: true }));
    try {
      const bad = await t.app.inject({
        method: 'POST',
        url: '/__test/json',
        headers: { 'content-type': 'application/json' },
        payload: '{"text": "SECRET-MARKER-1" oops',
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toEqual({ error: 'bad_request', message: 'body is not valid JSON' });
      expect(bad.body).not.toContain('SECRET-MARKER-1');
      const big = await t.app.inject({
        method: 'POST',
        url: '/__test/json',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ text: 'x'.repeat(4000) }),
      });
      expect(big.statusCode).toBe(413);
      expect(big.json().message).toBe('body is too large');
      expect(t.logs.text).not.toContain('SECRET-MARKER-1');
    } finally {
      await t.close();
    }
  });

  it('answers 500 without the error message, and logs no message either', async () => {
    const t = await buildTestApp();
    t.app.get('/__test/boom', async () => {
      throw new Error('failure quoting SECRET-MARKER-2');
    });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/__test/boom' });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toMatchObject({ error: 'internal_error', message: 'internal error' });
      expect(res.body).not.toContain('SECRET-MARKER-2');
      expect(t.logs.text).toContain('request failed');
      expect(t.logs.text).not.toContain('SECRET-MARKER-2');
    } finally {
      await t.close();
    }
  });
});

describe('rate limit', () => {
  it('applies the configured global limit per client', async () => {
    const config = testConfig();
    config.rateLimit = { max: 3, windowMs: 60_000 };
    const t = await buildTestApp({ config });
    t.app.get('/__test/limited', async () => ({ ok: true }));
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++)
        codes.push((await t.app.inject({ method: 'GET', url: '/__test/limited' })).statusCode);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      // Health endpoints are not limited (load balancers poll them).
      for (let i = 0; i < 5; i++)
        expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
