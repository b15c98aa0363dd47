import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger, lazyRequestLogger } from '../src/logger.js';
import { buildTestApp } from './helper.js';

describe('logging never carries content or secrets', () => {
  it('keeps a unique marker sent in bodies, headers and query out of debug-level logs', async () => {
    const marker = `MARKER-${randomUUID()}`;
    const t = await buildTestApp({ logLevel: 'trace' });
    // A route that logs what it receives at debug level, the way a careless handler would.
    t.app.post('/__test/echo', async (request) => {
      const body = request.body as Record<string, unknown>;
      request.log.debug({ body }, 'received body');
      request.log.debug({ text: body.text, answers: body.answers, passphrase: body.passphrase }, 'fields');
      request.log.debug({ update: { message: { text: body.text, from: { username: marker } } } }, 'nested');
      request.log.debug({ req: request }, 'request object');
      request.log.debug({ headers: { authorization: request.headers.authorization } }, 'headers');
      return { ok: true };
    });
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: `/__test/echo?token=${marker}`,
        headers: {
          authorization: `Bearer ${marker}`,
          'x-telegram-bot-api-secret-token': marker,
          cookie: `sid=${marker}`,
        },
        payload: { text: marker, answers: { a: marker }, passphrase: marker, token: marker },
      });
      expect(res.statusCode).toBe(200);
      // Also through the error paths: invalid JSON quoting the marker, an unknown route carrying it.
      await t.app.inject({
        method: 'POST',
        url: '/__test/echo',
        headers: { 'content-type': 'application/json' },
        payload: `{"text":"${marker}"`,
      });
      await t.app.inject({ method: 'GET', url: `/unknown/${marker}?q=${marker}` });
      expect(t.logs.lines.length).toBeGreaterThan(8);
      expect(t.logs.text).toContain('received body'); // the debug lines were written...
      expect(t.logs.text).toContain('[redacted]'); // ...with their content redacted
      expect(t.logs.text).not.toContain(marker);
      expect(t.logs.text).not.toContain(marker.slice(7, 20)); // no partial copy either
      // Every line carries the request id.
      const requestLines = t.logs.lines
        .map((l) => JSON.parse(l))
        .filter((l) => l.req || l.res || l.msg === 'fields');
      expect(requestLines.every((l) => typeof l.reqId === 'string')).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe('routes marked sensitive', () => {
  it('never log below info, even when the service runs at trace level', async () => {
    const t = await buildTestApp({ logLevel: 'trace' });
    t.app.post('/__test/sensitive', { config: { sensitive: true } }, async (request) => {
      request.log.debug('sensitive-debug-line');
      request.log.info('sensitive-info-line');
      return { ok: true };
    });
    t.app.post('/__test/plain', async (request) => {
      request.log.debug('plain-debug-line');
      return { ok: true };
    });
    try {
      await t.app.inject({ method: 'POST', url: '/__test/sensitive', payload: {} });
      await t.app.inject({ method: 'POST', url: '/__test/plain', payload: {} });
      expect(t.logs.text).toContain('sensitive-info-line');
      expect(t.logs.text).not.toContain('sensitive-debug-line');
      expect(t.logs.text).toContain('plain-debug-line');
    } finally {
      await t.close();
    }
  });
});

describe('the logger of a request', () => {
  it('is made on its first use only, and then logs as a pino child with its bindings and redaction', async () => {
    const lines: string[] = [];
    const root = createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } });
    let made = 0;
    const child = root.child.bind(root);
    root.child = ((...args: Parameters<typeof root.child>) => {
      made += 1;
      return child(...args);
    }) as typeof root.child;
    const quiet = lazyRequestLogger(root, { reqId: 'r-1' }, {});
    // What Fastify does with every request's logger: checks its methods, asks whether info is on.
    for (const m of ['info', 'error', 'debug', 'fatal', 'warn', 'trace', 'child']) {
      expect(typeof (quiet as unknown as Record<string, unknown>)[m]).toBe('function');
    }
    expect(quiet.isLevelEnabled('info')).toBe(true);
    expect(quiet.isLevelEnabled('debug')).toBe(false);
    expect(made).toBe(0);
    const used = lazyRequestLogger(root, { reqId: 'r-2' }, {});
    used.info({ text: 'MARKER-content' }, 'hello');
    used.warn('again');
    expect(made).toBe(1);
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.map((l) => [l.reqId, l.msg])).toEqual([
      ['r-2', 'hello'],
      ['r-2', 'again'],
    ]);
    expect(lines.join('')).not.toContain('MARKER-content');
  });

  it('answers isLevelEnabled as the real child would, for every level and a route level', () => {
    const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
    for (const rootLevel of [...levels, 'silent']) {
      const root = createLogger({ level: rootLevel, destination: { write: () => {} } });
      for (const routeLevel of [undefined, ...levels]) {
        const options = routeLevel ? { level: routeLevel } : {};
        const lazy = lazyRequestLogger(root, { reqId: 'x' }, options);
        const real = root.child({ reqId: 'x' }, options);
        for (const asked of levels) {
          expect([rootLevel, routeLevel, asked, lazy.isLevelEnabled(asked)]).toEqual([
            rootLevel,
            routeLevel,
            asked,
            real.isLevelEnabled(asked),
          ]);
        }
        // Once made, the child answers itself (a level changed on it is seen).
        lazy.level = 'fatal';
        expect(lazy.isLevelEnabled('error')).toBe(false);
      }
    }
  });
});
