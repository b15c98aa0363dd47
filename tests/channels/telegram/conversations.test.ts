// Full Telegram conversations of both flows, through POST /telegram/webhook with the real telegraf client
// and a fake Bot API server: by buttons and by typed text, to a sealed report that the coordinator opens
// (unlock + showReport, as `intake reports show` does).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { showReport, unlock } from '../../../src/coordinators/index.js';
import { findReportByReference } from '../../../src/store/index.js';
import { backends } from '../../support/databases.js';
import { type Action, type Harness, PASSPHRASE, referenceIn, startHarness, walk } from './harness.js';

const YOUTH: Action[] = [
  { press: 'safe' },
  { press: 'me' },
  { press: 'age_15_16' },
  { tick: ['exchange', 'partner'] },
  { say: "Il a 22 ans. Il dit que je lui dois de l'argent pour les cadeaux." },
  { tick: ['talk', 'health'] },
  { press: 'receipt' },
  { press: 'no' },
  { press: '$confirm' },
];
const PROFESSIONAL: Action[] = [
  { press: 'no' },
  { press: 'school' },
  { say: 'Collège Paul-Éluard, Montreuil' },
  { press: '$skip' },
  { press: '$skip' },
  { press: 'age_15' },
  { press: 'seine_saint_denis' },
  { say: 'Montreuil' },
  { tick: ['money_gifts', 'networks', 'school'] },
  { say: 'Absences le vendredi depuis un mois. Deux téléphones.' },
  // Date, places, source, authors, whereabouts, followed: skipped.
  ...Array.from({ length: 6 }, () => ({ press: '$skip' })),
  { tick: ['nothing'] },
  // Parents, whether the young person knows, expectations: skipped.
  ...Array.from({ length: 3 }, () => ({ press: '$skip' })),
  { press: '$confirm' },
];

describe.each(backends())('telegram conversations ($name)', (backend) => {
  let h: Harness;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const opened = await backend.open();
    cleanup = opened.cleanup;
    h = await startHarness({ db: opened.db });
    await h.coordinator();
  });
  afterAll(async () => {
    await h?.close();
    await cleanup?.();
  });

  const cases = [
    { flow: 'youth', payload: 'jeune', actions: YOUTH, mode: 'buttons' },
    { flow: 'youth', payload: 'jeune', actions: YOUTH, mode: 'text' },
    { flow: 'professional', payload: 'pro', actions: PROFESSIONAL, mode: 'buttons' },
    { flow: 'professional', payload: 'pro', actions: PROFESSIONAL, mode: 'text' },
  ] as const;

  for (const c of cases) {
    it(`${c.flow} by ${c.mode}: a sealed report the coordinator opens`, async () => {
      const user = h.user({ lang: 'fr' });
      await user.say(`/start ${c.payload}`);
      await walk(user, c.actions, c.mode);
      const messages = user.botMessages();
      const reference = referenceIn(messages);
      expect(reference, 'the receipt message shows the reference').toBeDefined();
      const receiptMessage = messages.find((m) => m.text.includes(`<code>${reference}</code>`))!;
      if (c.flow === 'youth')
        expect(receiptMessage.text).toMatch(/Code secret : <code>[A-Z0-9-]{16,}<\/code>/);
      // The conversation is over: nothing of it is left in the conversations table.
      expect(await h.conversationCount()).toBe(0);

      const me = await unlock(h.t.db, h.t.keyring, 'coord1', PASSPHRASE);
      const report = await showReport(h.t.db, me, reference!);
      expect(report.channel).toBe('telegram');
      expect(report.kind).toBe(c.flow);
      const answers = report.payload.answers as Record<string, unknown>;
      if (c.flow === 'youth') {
        expect(answers).toMatchObject({
          safety: 'safe',
          for_whom: 'me',
          age_me: 'age_15_16',
          what_me: ['exchange', 'partner'],
          more: "Il a 22 ans. Il dit que je lui dois de l'argent pour les cadeaux.",
          help: ['talk', 'health'],
          contact: 'receipt',
        });
      } else {
        expect(answers).toMatchObject({
          role: 'school',
          territory: 'seine_saint_denis',
          commune: 'Montreuil',
          signs: ['money_gifts', 'networks', 'school'],
          danger: false,
          actions: ['nothing'],
        });
        expect(JSON.stringify(answers)).toContain('Collège Paul-Éluard, Montreuil');
      }
      if (c.mode === 'buttons') {
        // Every answered keyboard was edited to show the choice: no live option button is left behind, but
        // the quick-exit button under the last message.
        const live = messages
          .flatMap((m) => (m.keyboard ?? []).flat())
          .filter((b) => b.callback_data !== 'n' && b.callback_data !== 's:$erase:$erase');
        expect(live).toEqual([]);
        expect(h.fake.callsOf('answerCallbackQuery').length).toBeGreaterThan(0);
      }
    });
  }

  it('multiple choice: toggles edit the keyboard in place with ✓, then Valider shows the choice', async () => {
    const user = h.user();
    await user.say('/start jeune');
    await user.press('safe');
    await user.press('me');
    await user.press('age_17');
    const before = user.botMessages().length;
    const { message } = user.findButton('exchange');
    await user.press('exchange');
    await user.press('partner');
    expect(user.botMessages().length).toBe(before);
    const labels = (message.keyboard ?? []).flat().map((b) => b.text);
    expect(labels.filter((l) => l.startsWith('✓ '))).toHaveLength(2);
    expect(labels).toContain('Valider');
    await user.press('partner');
    expect((message.keyboard ?? []).flat().filter((b) => b.text.startsWith('✓ '))).toHaveLength(1);
    await user.press('$done');
    expect(message.keyboard).toEqual([
      [{ text: expect.stringMatching(/^✓ On me donne/), callback_data: 'n' }],
    ]);
    expect(user.botMessages().length).toBeGreaterThan(before);
  });

  it('an opted-in youth gets one contentless notice in the chat when a coordinator replies', async () => {
    const user = h.user();
    await user.say('/start jeune');
    const actions = YOUTH.map((a) => ('press' in a && a.press === 'no' ? { press: 'yes' } : a));
    await walk(user, actions, 'buttons');
    const reference = referenceIn(user.botMessages())!;
    const row = await findReportByReference(h.t.db, reference);
    const before = user.botMessages().length;
    expect(await h.t.app.intake.pipeline.service.notifySubmitter(row!.id)).toBe(true);
    const after = user.botMessages();
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)!.text).toBe(
      'Une nouvelle réponse est arrivée. Pour la lire : /suivi suivi du code secret.',
    );
  });

  it('English by language_code; /start payload picks the professional flow', async () => {
    const user = h.user({ lang: 'en-GB' });
    await user.say('/start pro');
    const texts = user.botMessages().map((m) => m.text);
    expect(texts.join('\n')).toMatch(/Hello|immediate danger/i);
    await user.press('no');
    expect(user.findButton('school').text).toMatch(/school/i);
  });
});
