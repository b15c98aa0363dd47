/**
 * Test harness for the Telegram channel: the real app (built with TELEGRAM_* pointing at a fake Bot API
 * server on 127.0.0.1) and simulated Telegram users who send updates to `POST /telegram/webhook` and press
 * the buttons the bot really sent.
 */
import { vi } from 'vitest';
import type { TelegramPluginOptions } from '../../../src/channels/telegram/index.js';
import type { AppConfig } from '../../../src/config/index.js';
import { createCoordinator } from '../../../src/coordinators/index.js';
import type { Database } from '../../../src/store/index.js';
import { buildTestApp, type TestApp } from '../../helper.js';
import { type FakeBotApi, type StoredMessage, startFakeBotApi } from './fake-bot-api.js';

/** Test-only webhook secret. */
export const DANGEROUS_TEST_ONLY_SECRET = 'test-only-webhook-secret-0123456789abcdefXYZ';
export const PASSPHRASE = 'correct horse battery staple for tests';

let nextUpdateId = 500_000 + Math.floor(Math.random() * 1000) * 1000;

export interface Harness {
  t: TestApp;
  fake: FakeBotApi;
  post(update: unknown, secret?: string | null): Promise<{ statusCode: number; body: string }>;
  user(options?: Partial<UserOptions>): TgUser;
  /** Adds a coordinator to the `coordination` inbox (reports need a recipient). */
  coordinator(login?: string): Promise<void>;
  conversationCount(): Promise<number>;
  /** Whether this user has a conversation row (found by the keyed hash, as the service does). */
  hasConversation(user: TgUser): Promise<boolean>;
  close(): Promise<void>;
}

export interface UserOptions {
  id: number;
  firstName: string;
  username: string;
  lang: string;
}

let nextUserId = 9_100_000_000 + Math.floor(Math.random() * 1_000_000);

export async function startHarness(
  options: { db?: Database; apiPrefix?: string; telegram?: TelegramPluginOptions; config?: AppConfig } = {},
): Promise<Harness> {
  const fake = await startFakeBotApi(options.apiPrefix ? { prefix: options.apiPrefix } : {});
  vi.stubEnv('TELEGRAM_BOT_TOKEN', fake.token);
  vi.stubEnv('TELEGRAM_WEBHOOK_SECRET', DANGEROUS_TEST_ONLY_SECRET);
  vi.stubEnv('TELEGRAM_API_ROOT', fake.root);
  vi.stubEnv('TELEGRAM_MODE', '');
  let t: TestApp;
  try {
    t = await buildTestApp({
      ...(options.db ? { db: options.db } : {}),
      ...(options.config ? { config: options.config } : {}),
      ...(options.telegram ? { deps: { telegram: options.telegram } } : {}),
    });
  } finally {
    vi.unstubAllEnvs();
  }
  const h: Harness = {
    t,
    fake,
    async post(update, secret = DANGEROUS_TEST_ONLY_SECRET) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/telegram/webhook',
        headers: {
          'content-type': 'application/json',
          ...(secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret }),
        },
        payload: typeof update === 'string' ? update : JSON.stringify(update),
      });
      // Telegram runs a method given back in a 200 response (the channel answers presses that way).
      if (res.statusCode === 200) fake.webhookReply(JSON.parse(res.body));
      return { statusCode: res.statusCode, body: res.body };
    },
    user(o = {}) {
      return new TgUser(h, {
        id: o.id ?? nextUserId++,
        firstName: o.firstName ?? 'Test',
        username: o.username ?? 'test_user',
        lang: o.lang ?? 'fr',
      });
    },
    async coordinator(login = 'coord1') {
      await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Coordination test', login, inbox: 'coordination', passphrase: PASSPHRASE },
        ['coordination'],
      );
    },
    async conversationCount() {
      const r = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM conversations');
      return r.rows[0]?.n ?? 0;
    },
    async hasConversation(user) {
      const hash = t.app.intake.pipeline.service.userHash('telegram', String(user.id));
      const r = await t.db.query('SELECT 1 FROM conversations WHERE user_hash = $1', [hash]);
      return r.rows.length > 0;
    },
    async close() {
      await t.close();
      await fake.close();
    },
  };
  return h;
}

export function newUpdateId(): number {
  nextUpdateId += 1;
  return nextUpdateId;
}

/** A simulated Telegram user in a private chat with the bot. */
export class TgUser {
  constructor(
    readonly h: Harness,
    readonly o: UserOptions,
  ) {}

  get id() {
    return this.o.id;
  }

  from() {
    return {
      id: this.o.id,
      is_bot: false,
      first_name: this.o.firstName,
      username: this.o.username,
      language_code: this.o.lang,
    };
  }

  chat() {
    return { id: this.o.id, type: 'private', first_name: this.o.firstName, username: this.o.username };
  }

  /** A text message update (its message id is reserved in the fake chat). */
  textUpdate(text: string) {
    const message_id = this.h.fake.userMessage(this.o.id, text);
    return {
      update_id: newUpdateId(),
      message: {
        message_id,
        date: Math.floor(Date.now() / 1000),
        chat: this.chat(),
        from: this.from(),
        text,
      },
    };
  }

  async say(text: string) {
    const res = await this.h.post(this.textUpdate(text));
    if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}: ${res.body}`);
    return res;
  }

  messages(): StoredMessage[] {
    return this.h.fake.chat(this.o.id);
  }

  botMessages(): StoredMessage[] {
    return this.messages().filter((m) => m.from === 'bot' && !m.deleted);
  }

  /** The latest bot message with a live button for `optionId`. */
  findButton(optionId: string): { message: StoredMessage; data: string; text: string } {
    const list = this.botMessages();
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i]!;
      for (const b of (m.keyboard ?? []).flat()) {
        if (b.callback_data?.startsWith('s:') && b.callback_data.endsWith(`:${optionId}`)) {
          return { message: m, data: b.callback_data, text: b.text };
        }
      }
    }
    throw new Error(`no live button for option ${optionId}`);
  }

  /** A callback_query update pressing `data` on `message`. */
  pressUpdate(message: StoredMessage, data: string) {
    return {
      update_id: newUpdateId(),
      callback_query: {
        id: `cq${newUpdateId()}`,
        from: this.from(),
        chat_instance: 'ci-test',
        data,
        message: {
          message_id: message.message_id,
          date: Math.floor(Date.now() / 1000),
          chat: this.chat(),
          text: message.text,
          ...(message.keyboard ? { reply_markup: { inline_keyboard: message.keyboard } } : {}),
        },
      },
    };
  }

  async press(optionId: string) {
    const { message, data } = this.findButton(optionId);
    const res = await this.h.post(this.pressUpdate(message, data));
    if (res.statusCode !== 200) throw new Error(`webhook answered ${res.statusCode}: ${res.body}`);
    return res;
  }

  /** Ticks options of the latest multiple choice, then "Valider". */
  async tick(optionIds: string[]) {
    for (const id of optionIds) await this.press(id);
    await this.press('$done');
  }

  /** Types the label of the button for `optionId` instead of pressing it. */
  async typeLabel(optionId: string) {
    // On an optional free-text step, typed "Passer" would be an answer: the command skips.
    if (optionId === '$skip') return this.say('/passer');
    const { text } = this.findButton(optionId);
    return this.say(text.replace(/^✓ /, ''));
  }

  /** Types the numbers of options of the latest multiple choice ("2, 4"). */
  async typeNumbers(optionIds: string[]) {
    const { message } = this.findButton(optionIds[0]!);
    const ids = (message.keyboard ?? []).flat().map((b) => b.callback_data?.split(':').pop());
    return this.say(optionIds.map((id) => String(ids.indexOf(id) + 1)).join(', '));
  }
}

/** Runs a scripted walk by buttons or by typed text. */
export type Action = { say: string } | { press: string } | { tick: string[] };

export async function walk(user: TgUser, actions: Action[], mode: 'buttons' | 'text') {
  for (const a of actions) {
    if ('say' in a) await user.say(a.say);
    else if ('press' in a) await (mode === 'buttons' ? user.press(a.press) : user.typeLabel(a.press));
    else if (mode === 'buttons') await user.tick(a.tick);
    else await user.typeNumbers(a.tick);
  }
}

/** The case reference shown in the receipt message. */
export function referenceIn(messages: StoredMessage[]): string | undefined {
  for (const m of messages) {
    const match = /<code>(R-[A-Z0-9]{6})<\/code>/.exec(m.text);
    if (match) return match[1];
  }
  return undefined;
}
