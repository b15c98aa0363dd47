/**
 * A lean fake Telegram Bot API for the load benchmark and the resilience tests: answers every call at once,
 * keeps per chat only what a simulated user needs (the live buttons by option id, the case reference of the
 * receipt) and counts calls. URL shape `{root}bot{token}/{method}`, JSON or form bodies.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Button {
  messageId: number;
  data: string;
  text: string;
}

export interface ChatState {
  next: number;
  /** Latest button per option id (`s:<step>:<option>` or a short code). */
  buttons: Map<string, Button>;
  /** Texts of the bot's messages, in order (only when `keepTexts`). */
  texts: string[];
  reference?: string;
  sends: number;
}

export interface LeanFakeBotApi {
  root: string;
  token: string;
  counts: Map<string, number>;
  chat(chatId: number): ChatState;
  /** Reserves a message id for a message the user sends. */
  userMessage(chatId: number): number;
  drop(chatId: number): void;
  chats: Map<number, ChatState>;
  close(): Promise<void>;
}

export const BENCH_TOKEN = '123456789:TEST_ONLY_bench_token_AAAAAAAAAAAAAAAAAA';
const REFERENCE = /<code>(R-[A-Z0-9]{6})<\/code>/;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return {};
  const type = req.headers['content-type'] ?? '';
  if (type.includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  return JSON.parse(raw) as Record<string, unknown>;
}

type Keyboard = { text: string; callback_data: string }[][];

export async function startLeanFakeBotApi(
  options: { token?: string; keepTexts?: boolean } = {},
): Promise<LeanFakeBotApi> {
  const token = options.token ?? BENCH_TOKEN;
  const chats = new Map<number, ChatState>();
  const counts = new Map<string, number>();
  const chat = (id: number) => {
    let c = chats.get(id);
    if (!c) {
      c = { next: 0, buttons: new Map(), texts: [], sends: 0 };
      chats.set(id, c);
    }
    return c;
  };
  const learn = (c: ChatState, messageId: number, keyboard: Keyboard | undefined) => {
    for (const b of (keyboard ?? []).flat()) {
      const option = b.callback_data.startsWith('s:') ? b.callback_data.split(':').pop()! : b.callback_data;
      c.buttons.set(option, { messageId, data: b.callback_data, text: b.text });
    }
  };
  const handle = (method: string, p: Record<string, unknown>): unknown => {
    const chatId = Number(p.chat_id);
    switch (method) {
      case 'sendMessage': {
        const c = chat(chatId);
        c.next += 1;
        c.sends += 1;
        const text = String(p.text);
        if (options.keepTexts) c.texts.push(text);
        const ref = REFERENCE.exec(text);
        if (ref) c.reference = ref[1];
        const markup = p.reply_markup as { inline_keyboard?: Keyboard } | undefined;
        learn(c, c.next, markup?.inline_keyboard);
        return {
          message_id: c.next,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: 'private' },
          text,
        };
      }
      case 'editMessageReplyMarkup': {
        const markup = p.reply_markup as { inline_keyboard?: Keyboard } | undefined;
        learn(chat(chatId), Number(p.message_id), markup?.inline_keyboard);
        return true;
      }
      case 'getMe':
        return { id: 123456789, is_bot: true, first_name: 'Fake', username: 'fake_bench_bot' };
      default:
        return true;
    }
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    const prefix = `/bot${token}/`;
    const method = path.startsWith(prefix) ? (path.slice(prefix.length).split('?')[0] ?? '') : '';
    readBody(req)
      .then((params) => {
        counts.set(method, (counts.get(method) ?? 0) + 1);
        const body = JSON.stringify({ ok: true, result: handle(method, params) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"ok":false,"error_code":400,"description":"Bad Request"}');
      });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    root: `http://127.0.0.1:${port}`,
    token,
    counts,
    chats,
    chat,
    userMessage(chatId) {
      const c = chat(chatId);
      c.next += 1;
      return c.next;
    },
    drop(chatId) {
      chats.delete(chatId);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
