import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
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
