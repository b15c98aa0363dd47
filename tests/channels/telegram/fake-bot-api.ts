/**
 * A small fake Telegram Bot API server on 127.0.0.1, for the real telegraf client (`telegram.apiRoot`).
 * URL shape `{root}bot{token}/{method}`. It records every call, keeps the messages of each chat (so tests
 * can press the buttons the bot really sent) and can play a blocked user or undeletable messages.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  params: Record<string, unknown>;
}

/** A button as sent: `callback_data` for presses, or `web_app` (a Mini App; the bot never sees a press). */
export interface InlineButton {
  text: string;
  callback_data?: string;
  web_app?: { url: string };
}

export interface StoredMessage {
  message_id: number;
  from: 'bot' | 'user';
  text: string;
  keyboard?: InlineButton[][];
  deleted?: boolean;
}

export interface FakeBotApi {
  /** API root for TELEGRAM_API_ROOT (ends with a slash when it has a path). */
  root: string;
  token: string;
  calls: ApiCall[];
  /** Calls of one method. */
  callsOf(method: string): ApiCall[];
  /** The chat's messages, in order. */
  chat(chatId: number): StoredMessage[];
  /** Reserves the next message id of a chat for a message the user sends. */
  userMessage(chatId: number, text: string): number;
  /** Chats whose user blocked the bot: sendMessage answers 403. */
  blocked: Set<number>;
  /** Message ids deleteMessage refuses (too old). */
  undeletable: Set<number>;
  /** Updates served by getUpdates (polling). */
  pendingUpdates: unknown[];
  /** Delays the answers to one method (a slow Bot API). */
  slow: { method: string; ms: number } | undefined;
  /**
   * Holds the answer to each call of this method until a sendMessage to the same chat arrives, or 2 s
   * pass; `held` tells which released each call (a client that waits for the answer first never sends).
   */
  holdUntilSend: string | undefined;
  held: { method: string; released: 'send' | 'timeout' }[];
  /** The most calls of each method the fake was answering at once (received, not yet answered). */
  peakInFlight: Map<string, number>;
  /** Runs a method given back as a webhook's response body, as Telegram does (recorded like a call). */
  webhookReply(body: unknown): void;
  reset(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return {};
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  if (type.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  throw new Error(`fake bot api: unexpected content type ${type}`);
}

export async function startFakeBotApi(
  options: { token?: string; prefix?: string } = {},
): Promise<FakeBotApi> {
  const token = options.token ?? '123456789:TEST_ONLY_fake_token_AAAAAAAAAAAAAAAAAA';
  const prefix = options.prefix ?? '/';
  const calls: ApiCall[] = [];
  const chats = new Map<number, StoredMessage[]>();
  const counters = new Map<number, number>();
  const blocked = new Set<number>();
  const undeletable = new Set<number>();
  const pendingUpdates: unknown[] = [];
  let slow: FakeBotApi['slow'];
  let holdUntilSend: string | undefined;
  const held: FakeBotApi['held'] = [];
  const holding: { chatId: number; release(): void }[] = [];
  const inFlight = new Map<string, number>();
  const peakInFlight = new Map<string, number>();
  const nextId = (chatId: number) => {
    const n = (counters.get(chatId) ?? 0) + 1;
    counters.set(chatId, n);
    return n;
  };
  const chat = (chatId: number) => {
    let list = chats.get(chatId);
    if (!list) {
      list = [];
      chats.set(chatId, list);
    }
    return list;
  };

  const ok = (result: unknown) => ({ status: 200, body: { ok: true, result } });
  const fail = (status: number, description: string) => ({
    status,
    body: { ok: false, error_code: status, description },
  });

  function handle(method: string, p: Record<string, unknown>): { status: number; body: unknown } {
    const chatId = Number(p.chat_id);
    switch (method) {
      case 'getMe':
        return ok({ id: 123456789, is_bot: true, first_name: 'Fake', username: 'fake_intake_bot' });
      case 'sendMessage': {
        if (blocked.has(chatId)) return fail(403, 'Forbidden: bot was blocked by the user');
        const markup = p.reply_markup as { inline_keyboard?: InlineButton[][] } | undefined;
        const m: StoredMessage = {
          message_id: nextId(chatId),
          from: 'bot',
          text: String(p.text),
          ...(markup?.inline_keyboard ? { keyboard: markup.inline_keyboard } : {}),
        };
        chat(chatId).push(m);
        return ok({
          message_id: m.message_id,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: 'private' },
          text: m.text,
          ...(markup ? { reply_markup: markup } : {}),
        });
      }
      case 'editMessageReplyMarkup': {
        const m = chat(chatId).find((x) => x.message_id === Number(p.message_id) && !x.deleted);
        if (!m) return fail(400, 'Bad Request: message to edit not found');
        const markup = p.reply_markup as { inline_keyboard?: InlineButton[][] } | undefined;
        m.keyboard = markup?.inline_keyboard ?? [];
        return ok(true);
      }
      case 'deleteMessage': {
        const id = Number(p.message_id);
        const m = chat(chatId).find((x) => x.message_id === id && !x.deleted);
        if (!m) return fail(400, 'Bad Request: message to delete not found');
        if (undeletable.has(id)) return fail(400, "Bad Request: message can't be deleted");
        m.deleted = true;
        return ok(true);
      }
      case 'getUpdates':
        return ok(pendingUpdates.splice(0));
      case 'answerCallbackQuery':
      case 'leaveChat':
      case 'setWebhook':
      case 'deleteWebhook':
      case 'setMyCommands':
        return ok(true);
      case 'getWebhookInfo':
        return ok({ url: '', has_custom_certificate: false, pending_update_count: 0 });
      default:
        return fail(404, `Not Found: method ${method}`);
    }
  }

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = req.url ?? '';
    const expected = `${prefix}bot${token}/`;
    if (!path.startsWith(expected)) {
      send(404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    const method = path.slice(expected.length).split('?')[0] ?? '';
    readBody(req)
      .then((params) => {
        calls.push({ method, params });
        const now = (inFlight.get(method) ?? 0) + 1;
        inFlight.set(method, now);
        peakInFlight.set(method, Math.max(now, peakInFlight.get(method) ?? 0));
        res.once('finish', () => inFlight.set(method, (inFlight.get(method) ?? 1) - 1));
        const r = handle(method, params);
        if (method === 'sendMessage') {
          for (const h of holding.filter((x) => x.chatId === Number(params.chat_id))) h.release();
        }
        if (holdUntilSend === method) {
          const record: FakeBotApi['held'][number] = { method, released: 'timeout' };
          held.push(record);
          const entry = {
            chatId: Number(params.chat_id),
            release: () => {
              clearTimeout(timer);
              holding.splice(holding.indexOf(entry), 1);
              record.released = 'send';
              send(r.status, r.body);
            },
          };
          const timer = setTimeout(() => {
            holding.splice(holding.indexOf(entry), 1);
            send(r.status, r.body);
          }, 2_000);
          holding.push(entry);
          return;
        }
        // getUpdates with nothing pending: answer after a short wait, like a (very short) long poll.
        if (method === 'getUpdates' && Array.isArray((r.body as { result: unknown[] }).result)) {
          const list = (r.body as { result: unknown[] }).result;
          if (list.length === 0) {
            setTimeout(() => send(r.status, r.body), 50);
            return;
          }
        }
        if (slow && slow.method === method) setTimeout(() => send(r.status, r.body), slow.ms);
        else send(r.status, r.body);
      })
      .catch(() => send(400, { ok: false, error_code: 400, description: 'Bad Request: unreadable body' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    get slow() {
      return slow;
    },
    set slow(value) {
      slow = value;
    },
    get holdUntilSend() {
      return holdUntilSend;
    },
    set holdUntilSend(value) {
      holdUntilSend = value;
    },
    held,
    peakInFlight,
    root: `http://127.0.0.1:${port}${prefix}`,
    token,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    chat: (chatId) => chat(chatId),
    userMessage(chatId, text) {
      const m: StoredMessage = { message_id: nextId(chatId), from: 'user', text };
      chat(chatId).push(m);
      return m.message_id;
    },
    blocked,
    undeletable,
    pendingUpdates,
    webhookReply(body) {
      if (typeof body !== 'object' || body === null || !('method' in body)) return;
      const { method, ...params } = body as Record<string, unknown>;
      if (typeof method !== 'string') return;
      calls.push({ method, params });
      handle(method, params);
    },
    reset() {
      calls.length = 0;
      held.length = 0;
      holdUntilSend = undefined;
      peakInFlight.clear();
      chats.clear();
      counters.clear();
      blocked.clear();
      undeletable.clear();
      pendingUpdates.length = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
