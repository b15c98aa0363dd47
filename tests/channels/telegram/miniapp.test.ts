// The Mini App offer: with an https PUBLIC_URL, the welcome of a new conversation (private chat) carries a
// `web_app` button on /chat/ for that flow and language; without PUBLIC_URL, or with an http one, none.

import { afterEach, describe, expect, it } from 'vitest';
import { miniAppUrl } from '../../../src/channels/telegram/render.js';
import { testConfig } from '../../helper.js';
import type { InlineButton } from './fake-bot-api.js';
import { type Harness, newUpdateId, startHarness, type TgUser } from './harness.js';

function webAppButtons(user: TgUser): InlineButton[] {
  return user
    .botMessages()
    .flatMap((m) => (m.keyboard ?? []).flat())
    .filter((b) => b.web_app !== undefined);
}

describe('telegram Mini App button', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('offers the flow on /chat/ in the welcome when PUBLIC_URL is https', async () => {
    h = await startHarness({ config: testConfig({ publicUrl: 'https://example.org/' }) });
    const youth = h.user({ lang: 'fr' });
    await youth.say('/start jeune');
    const buttons = webAppButtons(youth);
    expect(buttons).toEqual([
      {
        text: 'Écrire ici en privé (chiffré)',
        web_app: { url: 'https://example.org/chat/?flow=youth&lang=fr&in=telegram' },
      },
    ]);
    expect(buttons[0]).not.toHaveProperty('callback_data');
    // Under the welcome (joined to it: one message), saying what the page protects; then the question,
    // whose own buttons are untouched.
    const messages = youth.botMessages();
    const offer = messages.findIndex((m) => m.keyboard?.[0]?.[0]?.web_app);
    expect(offer).toBe(0);
    expect(messages[offer]!.text).toMatch(/^Salut\.[\s\S]*chiffrées sur le téléphone/);
    expect(messages[1]!.text).toMatch(/^Es-tu en sécurité maintenant/);
    expect(youth.findButton('safe').data).toBe('s:safety:safe');

    // Answering closes the question's keyboard, not the offer; a later turn sends no other offer.
    await youth.press('safe');
    expect(webAppButtons(youth)).toHaveLength(1);
    await youth.say('/start jeune');
    expect(webAppButtons(youth)).toHaveLength(1);

    const pro = h.user({ lang: 'en' });
    await pro.say('/start pro');
    expect(webAppButtons(pro)).toEqual([
      {
        text: 'Write here privately (encrypted)',
        web_app: { url: 'https://example.org/chat/?flow=professional&lang=en&in=telegram' },
      },
    ]);
  });

  it.each([
    ['without PUBLIC_URL', undefined],
    ['with an http PUBLIC_URL', 'http://example.org'],
  ])('offers no web_app button %s', async (_name, publicUrl) => {
    h = await startHarness({ config: testConfig(publicUrl ? { publicUrl } : {}) });
    const user = h.user();
    await user.say('/start jeune');
    expect(user.botMessages().length).toBeGreaterThan(0);
    expect(webAppButtons(user)).toEqual([]);
    expect(user.findButton('safe').data).toBe('s:safety:safe');
  });

  it('never offers it outside a private chat (the bot leaves groups)', async () => {
    h = await startHarness({ config: testConfig({ publicUrl: 'https://example.org' }) });
    const user = h.user();
    const res = await h.post({
      update_id: newUpdateId(),
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        chat: { id: -100123, type: 'group', title: 'Groupe' },
        from: user.from(),
        text: '/start jeune',
      },
    });
    expect(res.statusCode).toBe(200);
    const sent = h.fake.calls.filter((c) => c.method === 'sendMessage');
    expect(sent.length).toBeGreaterThan(0);
    for (const c of sent) expect(JSON.stringify(c.params)).not.toContain('web_app');
  });

  it('builds the URL only from an https PUBLIC_URL', () => {
    expect(miniAppUrl('https://example.org', 'youth', 'fr')).toBe(
      'https://example.org/chat/?flow=youth&lang=fr&in=telegram',
    );
    expect(miniAppUrl('https://example.org/intake/', 'professional', 'en')).toBe(
      'https://example.org/intake/chat/?flow=professional&lang=en&in=telegram',
    );
    expect(miniAppUrl(undefined, 'youth', 'fr')).toBeUndefined();
    expect(miniAppUrl('http://example.org', 'youth', 'fr')).toBeUndefined();
    expect(miniAppUrl('not a url', 'youth', 'fr')).toBeUndefined();
  });
});
