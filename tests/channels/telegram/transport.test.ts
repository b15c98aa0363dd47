import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Telegram, TelegramError } from 'telegraf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callBody, SharedDeadlines, useLeanTransport } from '../../../src/channels/telegram/transport.js';

describe('lean Bot API transport: the JSON body', () => {
  it('drops null fields at any depth, as telegraf does, and sends everything else as is', () => {
    const plain = {
      chat_id: 42,
      text: 'Bonjour',
      reply_markup: { inline_keyboard: [[{ text: 'Oui', callback_data: 's:1' }]] },
      skipped: undefined,
    };
    expect(JSON.parse(callBody(plain).toString('utf8'))).toEqual({
      chat_id: 42,
      text: 'Bonjour',
      reply_markup: { inline_keyboard: [[{ text: 'Oui', callback_data: 's:1' }]] },
    });
    const withNulls = {
      chat_id: 42,
      parse_mode: null,
      reply_markup: { inline_keyboard: [[{ text: 'Non', callback_data: null, url: 'https://x' }]] },
    };
    expect(JSON.parse(callBody(withNulls).toString('utf8'))).toEqual({
      chat_id: 42,
      reply_markup: { inline_keyboard: [[{ text: 'Non', url: 'https://x' }]] },
    });
  });
});

describe('lean Bot API transport: calls through the connection pool', () => {
  const token = '123456:secret-token-never-in-an-error';
  let server: Server;
  let root: string;
  const seen: { url: string; body: unknown; connection: string | undefined }[] = [];
  /** What the server does with the next requests, by method. */
  const behave = new Map<string, (res: ServerResponse) => void>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          url: req.url ?? '',
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          connection: req.headers.connection,
        });
        const method = (req.url ?? '').split('/').pop() ?? '';
        const act = behave.get(method);
        if (act) return act(res);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, result: { message_id: seen.length } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts the JSON to {root}/bot{token}/{method} on kept-alive connections, and returns the result', async () => {
    const telegram = new Telegram(token, { apiRoot: root });
    const close = useLeanTransport(telegram, { token, apiRoot: root });
    seen.length = 0;
    const sockets = new Set<unknown>();
    server.on('connection', (s) => sockets.add(s));
    const first = await telegram.sendMessage(42, 'Bonjour');
    for (let i = 0; i < 19; i++) await telegram.sendMessage(42, `n${i}`);
    expect(first.message_id).toBe(1);
    expect(seen[0]).toMatchObject({
      url: `/bot${token}/sendMessage`,
      body: { chat_id: 42, text: 'Bonjour' },
    });
    expect(seen).toHaveLength(20);
    // Twenty calls one after the other: connections kept open between calls (the pool may open a second one
    // while the first is finishing a response), not one a call.
    expect(sockets.size).toBeLessThanOrEqual(2);
    await close();
  });

  it('throws telegraf errors for refusals and server errors, and never names the path (it holds the token)', async () => {
    const telegram = new Telegram(token, { apiRoot: root });
    const close = useLeanTransport(telegram, { token, apiRoot: root });
    behave.set('sendMessage', (res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' }),
      );
    });
    const refused = await telegram.sendMessage(42, 'x').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TelegramError);
    expect((refused as TelegramError).code).toBe(403);
    behave.set('sendMessage', (res) => {
      res.writeHead(502);
      res.end('<html>bad gateway</html>');
    });
    const failed = await telegram.sendMessage(42, 'x').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TelegramError);
    expect((failed as TelegramError).code).toBe(502);
    behave.set('sendMessage', (res) => res.socket?.destroy());
    const dropped = await telegram.sendMessage(42, 'x').catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(Error);
    expect(String((dropped as Error).message)).toMatch(/^Bot API call sendMessage failed/);
    behave.clear();
    for (const err of [refused, failed, dropped]) {
      expect(`${(err as Error).message} ${(err as Error).stack}`).not.toContain('secret-token');
    }
    // The pool still works after a dropped connection.
    expect((await telegram.sendMessage(42, 'again')).message_id).toBeGreaterThan(0);
    await close();
  });

  it('refuses calls once closed (the service stopped)', async () => {
    const telegram = new Telegram(token, { apiRoot: root });
    const close = useLeanTransport(telegram, { token, apiRoot: root });
    await telegram.sendMessage(42, 'x');
    await close();
    const after = await telegram.sendMessage(42, 'y').catch((e: unknown) => e);
    expect(after).toBeInstanceOf(Error);
    expect(String((after as Error).message)).not.toContain('secret-token');
  });
  it('bounds a call in time and an answer in size, and never names the path in either error', async () => {
    const telegram = new Telegram(token, { apiRoot: root });
    const close = useLeanTransport(telegram, { token, apiRoot: root, callTimeoutMs: 300 });
    behave.set('sendMessage', () => {}); // never answers
    const t0 = performance.now();
    const slow = await telegram.sendMessage(42, 'x').catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(slow).toBeInstanceOf(Error);
    expect((slow as Error).message).toMatch(/^Bot API call sendMessage failed \(/);
    expect(typeof (slow as { code?: unknown }).code).toBe('string');
    behave.set('sendMessage', (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result: { text: 'x'.repeat(2 * 1024 * 1024) } }));
    });
    const huge = await telegram.sendMessage(42, 'x').catch((e: unknown) => e);
    expect(huge).toBeInstanceOf(Error);
    expect((huge as Error).message).toMatch(/^Bot API call sendMessage failed/);
    behave.clear();
    for (const err of [slow, huge]) {
      expect(`${(err as Error).message} ${(err as Error).stack}`).not.toContain('secret-token');
    }
    await close();
  });

  it('closes within its grace when a call hangs at shutdown, and the call fails', async () => {
    const telegram = new Telegram(token, { apiRoot: root });
    const close = useLeanTransport(telegram, { token, apiRoot: root, closeGraceMs: 200 });
    behave.set('sendMessage', () => {}); // never answers
    const hanging = telegram.sendMessage(42, 'x').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await close();
    expect(performance.now() - t0).toBeLessThan(3_000);
    const err = await hanging;
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).not.toContain('secret-token');
    behave.clear();
  });
  it('times a call out from the moment it is made, also while it waits for a connection', async () => {
    const telegram = new Telegram(token, { apiRoot: root });
    const close = useLeanTransport(telegram, { token, apiRoot: root, callTimeoutMs: 400, maxConnections: 1 });
    behave.set('sendMessage', () => {}); // never answers: the only connection stays busy
    const first = telegram.sendMessage(42, 'a').catch((e: unknown) => e);
    const queued = telegram.sendMessage(42, 'b').catch((e: unknown) => e);
    const [a, b] = await Promise.all([first, queued]);
    behave.clear();
    expect((a as Error).message).toMatch(/^Bot API call sendMessage failed/);
    // The queued call never reached the server: it failed waiting, by its own deadline, not by the
    // connection's answer timeout once the first call let the connection go.
    expect((b as { code?: unknown }).code).toBe('TimeoutError');
    expect(seen.filter((c) => (c.body as { text?: string }).text === 'b')).toHaveLength(0);
    await close();
  });
});

describe('lean Bot API transport: shared deadlines', () => {
  it('gives the calls of one window one signal, aborted as a timeout no earlier than the timeout', async () => {
    const deadlines = new SharedDeadlines(200); // window: 10 ms
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const t0 = performance.now();
    const first = deadlines.signal();
    // Many calls in flight at once listen to the same signal: no per-call timer, no listener warning.
    for (let i = 0; i < 50; i++) {
      expect(deadlines.signal()).toBe(first);
      first.addEventListener('abort', () => {});
    }
    const aborted = await new Promise<number>((resolve) =>
      first.addEventListener('abort', () => resolve(performance.now() - t0)),
    );
    process.off('warning', onWarning);
    expect(aborted).toBeGreaterThanOrEqual(199);
    expect(aborted).toBeLessThan(5_000);
    expect((first.reason as Error).name).toBe('TimeoutError');
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    // A call made after the window gets a signal of its own, not yet aborted.
    const later = deadlines.signal();
    expect(later).not.toBe(first);
    expect(later.aborted).toBe(false);
  });
});
