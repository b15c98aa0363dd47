// `intake telegram set-webhook` against the fake Bot API server, through a commander program built as the
// CLI builds it; and the Telegram settings read from the environment.
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadTelegramConfig, normalizeApiRoot } from '../../../src/channels/telegram/index.js';
import { CliError } from '../../../src/cli/context.js';
import { registerTelegramCommands } from '../../../src/cli/telegram.js';
import { type FakeBotApi, startFakeBotApi } from './fake-bot-api.js';

const SECRET = 'cli-test-only-secret-0123456789abcdefghij';

function program() {
  const p = new Command('intake').exitOverride();
  p.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerTelegramCommands(p);
  for (const c of p.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  }
  return p;
}

describe('intake telegram set-webhook', () => {
  let fake: FakeBotApi;
  beforeAll(async () => {
    // An API root with a path: telegraf must keep it ({root}/bot{token}/{method}).
    fake = await startFakeBotApi({ prefix: '/tg-api/' });
  });
  afterAll(() => fake.close());
  afterEach(() => {
    vi.unstubAllEnvs();
    fake.reset();
  });

  function env(extra: Record<string, string> = {}) {
    vi.stubEnv('TELEGRAM_BOT_TOKEN', fake.token);
    vi.stubEnv('TELEGRAM_WEBHOOK_SECRET', SECRET);
    vi.stubEnv('TELEGRAM_API_ROOT', fake.root.replace(/\/$/, ''));
    vi.stubEnv('PUBLIC_URL', 'https://intake.example.org/');
    for (const [k, v] of Object.entries(extra)) vi.stubEnv(k, v);
  }

  it('sets the webhook with the secret and allowed updates, and the command menus in fr and en', async () => {
    env();
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await program().parseAsync(['telegram', 'set-webhook'], { from: 'user' });
    out.mockRestore();
    const hook = fake.callsOf('setWebhook');
    expect(hook).toHaveLength(1);
    expect(hook[0]!.params).toMatchObject({
      url: 'https://intake.example.org/telegram/webhook',
      secret_token: SECRET,
      allowed_updates: ['message', 'edited_message', 'callback_query', 'my_chat_member'],
      drop_pending_updates: false,
    });
    const menus = fake.callsOf('setMyCommands');
    expect(menus.map((m) => m.params.language_code)).toEqual([undefined, 'fr', 'en']);
    const fr = menus[1]!.params.commands as { command: string }[];
    const en = menus[2]!.params.commands as { command: string }[];
    expect(fr.map((c) => c.command)).toEqual(
      expect.arrayContaining(['start', 'aide', 'urgence', 'effacer', 'suivi']),
    );
    expect(en.map((c) => c.command)).toEqual(expect.arrayContaining(['start', 'help', 'emergency', 'erase']));
    for (const c of [...fr, ...en]) expect(c.command).toMatch(/^[a-z0-9_]{1,32}$/);
  });

  it('refuses without a secret, without PUBLIC_URL or with an http PUBLIC_URL, calling nothing', async () => {
    const cases: Record<string, string>[] = [
      { TELEGRAM_WEBHOOK_SECRET: '' },
      { PUBLIC_URL: '' },
      { PUBLIC_URL: 'http://x.org' },
    ];
    for (const extra of cases) {
      env(extra);
      await expect(program().parseAsync(['telegram', 'set-webhook'], { from: 'user' })).rejects.toThrow(
        /TELEGRAM_WEBHOOK_SECRET|PUBLIC_URL/,
      );
      vi.unstubAllEnvs();
    }
    expect(fake.calls).toEqual([]);
  });

  it('refuses without a token', async () => {
    await expect(program().parseAsync(['telegram', 'set-webhook'], { from: 'user' })).rejects.toBeInstanceOf(
      CliError,
    );
  });

  it('has --help', async () => {
    let help = '';
    const p = program();
    const cmd = p.commands[0]!.commands[0]!;
    cmd.configureOutput({ writeOut: (s) => (help += s), writeErr: () => {} });
    await expect(p.parseAsync(['telegram', 'set-webhook', '--help'], { from: 'user' })).rejects.toMatchObject(
      {
        code: 'commander.helpDisplayed',
      },
    );
    expect(help).toContain('PUBLIC_URL');
    expect(help).toContain('TELEGRAM_WEBHOOK_SECRET');
    expect(help).toContain('/telegram/webhook');
  });
});

describe('Telegram settings', () => {
  const token = '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc';
  it('is off without a token', () => {
    expect(loadTelegramConfig({}, 'production')).toBeUndefined();
  });
  it('requires the webhook secret with a token (always in production, polling aside in development)', () => {
    expect(() => loadTelegramConfig({ TELEGRAM_BOT_TOKEN: token }, 'production')).toThrow(
      /TELEGRAM_WEBHOOK_SECRET: required/,
    );
    expect(() => loadTelegramConfig({ TELEGRAM_BOT_TOKEN: token }, 'development')).toThrow(
      /TELEGRAM_WEBHOOK_SECRET/,
    );
    expect(() =>
      loadTelegramConfig({ TELEGRAM_BOT_TOKEN: token, TELEGRAM_MODE: 'polling' }, 'production'),
    ).toThrow(/TELEGRAM_MODE/);
    expect(
      loadTelegramConfig({ TELEGRAM_BOT_TOKEN: token, TELEGRAM_MODE: 'polling' }, 'development'),
    ).toMatchObject({
      mode: 'polling',
    });
  });
  it('refuses a short secret or a malformed token without echoing them', () => {
    try {
      loadTelegramConfig({ TELEGRAM_BOT_TOKEN: token, TELEGRAM_WEBHOOK_SECRET: 'short-secret-value' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/TELEGRAM_WEBHOOK_SECRET/);
      expect((err as Error).message).not.toContain('short-secret-value');
    }
    expect(() =>
      loadTelegramConfig({ TELEGRAM_BOT_TOKEN: 'not-a-token', TELEGRAM_WEBHOOK_SECRET: SECRET }),
    ).toThrow(/TELEGRAM_BOT_TOKEN/);
  });
  it('keeps a trailing slash on an API root with a path', () => {
    expect(normalizeApiRoot('https://api.telegram.org')).toBe('https://api.telegram.org');
    expect(normalizeApiRoot('http://127.0.0.1:9/tg')).toBe('http://127.0.0.1:9/tg/');
    expect(normalizeApiRoot('http://127.0.0.1:9/tg/')).toBe('http://127.0.0.1:9/tg/');
    expect(() => normalizeApiRoot('ftp://x')).toThrow(/TELEGRAM_API_ROOT/);
  });
});
