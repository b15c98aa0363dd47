// TELEGRAM_MODE=polling (development): no webhook route; telegraf fetches updates from the (fake) Bot API and
// the channel answers them.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, type TestApp } from '../../helper.js';
import { type FakeBotApi, startFakeBotApi } from './fake-bot-api.js';

describe('telegram long polling (development)', () => {
  let fake: FakeBotApi;
  let t: TestApp;
  beforeAll(async () => {
    fake = await startFakeBotApi();
    vi.stubEnv('TELEGRAM_BOT_TOKEN', fake.token);
    vi.stubEnv('TELEGRAM_WEBHOOK_SECRET', '');
    vi.stubEnv('TELEGRAM_API_ROOT', fake.root);
    vi.stubEnv('TELEGRAM_MODE', 'polling');
    try {
      t = await buildTestApp();
    } finally {
      vi.unstubAllEnvs();
    }
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('answers updates fetched with getUpdates, and exposes no webhook route', async () => {
    const from = { id: 4242, is_bot: false, first_name: 'Dev', language_code: 'fr' };
    fake.pendingUpdates.push({
      update_id: 1,
      message: {
        message_id: fake.userMessage(4242, '/start jeune'),
        date: 1,
        chat: { id: 4242, type: 'private' },
        from,
        text: '/start jeune',
      },
    });
    await t.app.ready();
    const deadline = Date.now() + 10_000;
    while (fake.callsOf('sendMessage').length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(fake.callsOf('deleteWebhook')).toHaveLength(1);
    expect(fake.callsOf('getUpdates')[0]!.params.allowed_updates).toEqual([
      'message',
      'edited_message',
      'callback_query',
      'my_chat_member',
    ]);
    expect(fake.callsOf('sendMessage').length).toBeGreaterThan(0);
    const res = await t.app.inject({ method: 'POST', url: '/telegram/webhook', payload: {} });
    expect(res.statusCode).toBe(404);
  });
});
