// The Telegram webhook's behaviour at the edges: the secret, garbage bodies, redeliveries, ordering,
// stale buttons, groups, non-text and edited messages, a blocked bot and the flood limit (/effacer is in
// erase.test.ts). Real telegraf client against the fake Bot API server; embedded database and real
// PostgreSQL when enabled.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../../support/databases.js';
import { type Harness, newUpdateId, startHarness } from './harness.js';

describe.each(backends())('POST /telegram/webhook ($name)', (backend) => {
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
  beforeEach(() => h.fake.reset());

  const processedEvents = async () =>
    (await h.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events')).rows[0]?.n ?? 0;

  it('refuses a missing or wrong secret with 401, before reading the body, and calls no API', async () => {
    const user = h.user();
    const update = user.textUpdate('/start');
    const events = await processedEvents();
    const conversations = await h.conversationCount();
    for (const secret of [
      null,
      '',
      'wrong',
      `${'x'.repeat(43)}`,
      'test-only-webhook-secret-0123456789abcdefXY',
    ]) {
      const res = await h.post(update, secret);
      expect(res.statusCode).toBe(401);
      expect(JSON.parse(res.body).message).toBe('missing or wrong secret token');
    }
    // Even a body that is not JSON is refused as unauthorised: it is never parsed.
    expect((await h.post('{not json', null)).statusCode).toBe(401);
    expect(h.fake.calls).toEqual([]);
    expect(await processedEvents()).toBe(events);
    expect(await h.conversationCount()).toBe(conversations);
  });

  it('answers 400 with a reason to garbage bodies, never 500, and changes nothing', async () => {
    const user = h.user();
    const conversations = await h.conversationCount();
    const bodies: unknown[] = [
      '{not json',
      '[]',
      '"text"',
      'null',
      '42',
      {},
      { update_id: 'one' },
      { update_id: -1 },
      { update_id: 1.5 },
      { update_id: 1, message: 'hello' },
      { update_id: 1, message: { message_id: 1, date: 1, chat: { id: 'x', type: 'private' } } },
      { update_id: 1, message: { message_id: 1, date: 1, chat: { id: 1, type: 'secret-chat' } } },
      { update_id: 1, message: { ...user.textUpdate('x').message, text: 'y'.repeat(5000) } },
      {
        update_id: 1,
        callback_query: { id: 'q', from: user.from(), chat_instance: 'c', data: 'd'.repeat(65) },
      },
      { update_id: 1, my_chat_member: { chat: user.chat(), from: user.from(), date: 1 } },
      { update_id: 1, message: { message_id: 1, date: 1, chat: user.chat(), from: { id: 5 } } },
    ];
    for (const body of bodies) {
      const res = await h.post(body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(JSON.parse(res.body).message).toMatch(/invalid update|not valid JSON|body/);
    }
    expect(h.fake.calls).toEqual([]);
    expect(await h.conversationCount()).toBe(conversations);
    const metrics = await h.t.app.inject({ method: 'GET', url: '/metrics' });
    if (metrics.statusCode === 200) expect(metrics.body).toContain('telegram_invalid_update');
  });

  it('ignores update kinds it did not ask for', async () => {
    const res = await h.post({ update_id: newUpdateId(), inline_query: { id: 'x' } });
    expect(res.statusCode).toBe(200);
    expect(h.fake.calls).toEqual([]);
  });

  it('a redelivered update is processed once: one reply', async () => {
    const user = h.user();
    const update = user.textUpdate('/start jeune');
    expect((await h.post(update)).statusCode).toBe(200);
    const sent = h.fake.callsOf('sendMessage').length;
    expect(sent).toBeGreaterThan(0);
    expect((await h.post(update)).statusCode).toBe(200);
    expect((await h.post(update)).statusCode).toBe(200);
    expect(h.fake.callsOf('sendMessage')).toHaveLength(sent);
    // A redelivered press is answered (Telegram shows a spinner otherwise) but changes nothing.
    const { message, data } = user.findButton('safe');
    const press = user.pressUpdate(message, data);
    await h.post(press);
    const afterPress = h.fake.callsOf('sendMessage').length;
    await h.post(press);
    expect(h.fake.callsOf('sendMessage')).toHaveLength(afterPress);
    expect(h.fake.callsOf('answerCallbackQuery')).toHaveLength(2);
  });

  it('answers a press in the webhook response, after the replies are sent, with no request of its own', async () => {
    const user = h.user();
    await user.say('/start jeune');
    const { message, data } = user.findButton('safe');
    const press = user.pressUpdate(message, data) as { callback_query: { id: string } };
    h.fake.calls.length = 0;
    const res = await h.post(press);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      method: 'answerCallbackQuery',
      callback_query_id: press.callback_query.id,
    });
    // The harness runs the response's method as Telegram does: it comes last, after the next question.
    const methods = h.fake.calls.map((c) => c.method);
    expect(methods.filter((m) => m === 'answerCallbackQuery')).toHaveLength(1);
    expect(methods.at(-1)).toBe('answerCallbackQuery');
    expect(methods.indexOf('sendMessage')).toBeGreaterThanOrEqual(0);
    // A press on a closed keyboard gets its notice the same way.
    const again = await h.post(user.pressUpdate(message, 'n'));
    expect(JSON.parse(again.body)).toMatchObject({
      method: 'answerCallbackQuery',
      text: 'Cette question est close',
    });
  });

  it('two updates of one chat at once are processed and answered in order', async () => {
    const user = h.user();
    await user.say('/start pro');
    await user.press('no');
    await user.press('school');
    // Sent together: the structure (a free text), then /passer for the optional callback number.
    const first = user.textUpdate('Collège Jean-Jaurès, Bobigny');
    const second = user.textUpdate('/passer');
    h.fake.reset();
    const [a, b] = await Promise.all([h.post(first), h.post(second)]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const texts = h.fake.callsOf('sendMessage').map((c) => String(c.params.text));
    // In order: the callback question (answer to the first), then the young person's name (after the skip).
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(/rappeler/);
    expect(texts[1]).toMatch(/prénom/);
  });

  it('a stale button: "Cette question est close", nothing sent, nothing changed', async () => {
    const user = h.user();
    await user.say('/start jeune');
    const { message, data } = user.findButton('safe');
    // Answered by typing: the keyboard of that question is closed...
    await user.say('Oui');
    expect(message.keyboard).toEqual([]);
    const next = user.findButton('me');
    // ...and a press that still reaches us (a client with an old copy) is refused without a change.
    h.fake.calls.length = 0;
    await h.post(
      user.pressUpdate(
        { ...message, keyboard: [[{ text: 'Non', callback_data: data.replace('safe', 'unsafe') }]] },
        data.replace('safe', 'unsafe'),
      ),
    );
    expect(h.fake.callsOf('answerCallbackQuery').map((c) => c.params.text)).toEqual([
      'Cette question est close',
    ]);
    expect(h.fake.callsOf('sendMessage')).toEqual([]);
    // The current question still works, and the answer to the old one is what was typed.
    expect(user.findButton('me').message.message_id).toBe(next.message.message_id);
    await user.press('me');
    expect(user.findButton('age_17')).toBeDefined();
    // A press on an answered keyboard ("✓ ..." button) is closed too.
    h.fake.calls.length = 0;
    await h.post(user.pressUpdate(next.message, 'n'));
    expect(h.fake.callsOf('answerCallbackQuery').map((c) => c.params.text)).toEqual([
      'Cette question est close',
    ]);
    expect(h.fake.callsOf('sendMessage')).toEqual([]);
  });

  it('a re-prompt leaves the earlier copy of the question live (no edit); a press on it answers the question, and then every copy is closed', async () => {
    const user = h.user();
    await user.say('/start jeune');
    const first = user.findButton('safe').message;
    h.fake.calls.length = 0;
    // Text where a button is expected: the question is asked again, the first copy keeps its buttons.
    await user.say('bonjour');
    await user.say('euh, quoi ?');
    expect(h.fake.callsOf('editMessageReplyMarkup')).toEqual([]);
    // Each re-prompt is one message: "not understood" joined to the question asked again.
    expect(h.fake.callsOf('sendMessage')).toHaveLength(2);
    const copies = user
      .botMessages()
      .filter((m) => (m.keyboard ?? []).flat().some((b) => b.callback_data?.endsWith(':safe')));
    expect(copies.map((m) => m.message_id)).toHaveLength(3);
    expect(copies[0]!.message_id).toBe(first.message_id);
    // A press on the first copy answers the question (the same step), as on the last one.
    h.fake.calls.length = 0;
    const data = (first.keyboard ?? []).flat().find((b) => b.callback_data?.endsWith(':unsafe'))!
      .callback_data!;
    expect((await h.post(user.pressUpdate(first, data))).statusCode).toBe(200);
    expect(user.findButton('continue')).toBeDefined();
    // The pressed copy shows the choice; the other two copies are closed: no live button of that question.
    expect(first.keyboard?.flat().map((b) => b.callback_data)).toEqual(['n']);
    for (const m of copies.slice(1)) expect(m.keyboard).toEqual([]);
    const live = user
      .botMessages()
      .flatMap((m) => (m.keyboard ?? []).flat())
      .filter((b) => b.callback_data?.startsWith('s:safety:'));
    expect(live).toEqual([]);
    // Typing an answer (not a re-prompt) still closes the live keyboard of the question it answers.
    const next = user.findButton('continue').message;
    await user.typeLabel('continue');
    const after = user.botMessages().find((m) => m.message_id === next.message_id);
    expect(after?.keyboard ?? []).toEqual([]);
  });

  it('closes answered buttons while the next question is sent: the edit holds no reply back', async () => {
    const user = h.user();
    await user.say('/start jeune');
    const pressed = user.findButton('safe').message;
    // The fake answers an edit only once the next message of the chat has arrived (else after 2 s): a
    // client that waited for the edit before sending would leave it to the timeout.
    h.fake.holdUntilSend = 'editMessageReplyMarkup';
    await user.press('safe');
    expect(h.fake.held).toEqual([{ method: 'editMessageReplyMarkup', released: 'send' }]);
    expect(pressed.keyboard?.flat().map((b) => b.text)).toEqual(['✓ Oui']);
    // The same when the answer is typed: the question's buttons close while the next one is sent.
    const asked = user.findButton('me').message;
    await user.typeLabel('me');
    expect(h.fake.held).toEqual([
      { method: 'editMessageReplyMarkup', released: 'send' },
      { method: 'editMessageReplyMarkup', released: 'send' },
    ]);
    expect(user.botMessages().find((m) => m.message_id === asked.message_id)?.keyboard).toEqual([]);
    expect(user.findButton('age_13_14')).toBeDefined();
  });

  it('closes many copies of a question one after the other, not in a burst Telegram would refuse (429)', async () => {
    const user = h.user();
    await user.say('/start jeune');
    for (let i = 0; i < 5; i++) await user.say(`je sais pas ${i}`);
    // Six live copies of the question; each edit answered after 30 ms, so edits sent at once would overlap.
    h.fake.slow = { method: 'editMessageReplyMarkup', ms: 30 };
    try {
      await user.typeLabel('safe');
    } finally {
      h.fake.slow = undefined;
    }
    expect(h.fake.callsOf('editMessageReplyMarkup')).toHaveLength(6);
    expect(h.fake.peakInFlight.get('editMessageReplyMarkup')).toBe(1);
    const live = user
      .botMessages()
      .flatMap((m) => (m.keyboard ?? []).flat())
      .filter((b) => b.callback_data?.startsWith('s:safety:'));
    expect(live).toEqual([]);
  });

  it('a group: says once it works in private only, leaves, stores nothing', async () => {
    const user = h.user();
    const events = await processedEvents();
    const group = { id: -100_123_456, type: 'supergroup', title: 'Some group' };
    const update = {
      update_id: newUpdateId(),
      message: { message_id: 7, date: 1, chat: group, from: user.from(), text: '/start' },
    };
    expect((await h.post(update)).statusCode).toBe(200);
    expect((await h.post(update)).statusCode).toBe(200);
    const sends = h.fake.callsOf('sendMessage');
    expect(sends).toHaveLength(1);
    expect(sends[0]!.params.chat_id).toBe(group.id);
    expect(String(sends[0]!.params.text)).toMatch(/seulement en conversation privée/);
    expect(h.fake.callsOf('leaveChat')).toHaveLength(1);
    // Being added to a group: same notice, then leave.
    await h.post({
      update_id: newUpdateId(),
      my_chat_member: {
        chat: { id: -42, type: 'group', title: 'g' },
        from: user.from(),
        date: 1,
        old_chat_member: { status: 'left', user: { id: 1, is_bot: true, first_name: 'bot' } },
        new_chat_member: { status: 'member', user: { id: 1, is_bot: true, first_name: 'bot' } },
      },
    });
    expect(h.fake.callsOf('leaveChat')).toHaveLength(2);
    expect(await h.hasConversation(user)).toBe(false);
    expect(await processedEvents()).toBe(events);
  });

  it('photo and sticker: a kind reply, nothing stored', async () => {
    const user = h.user();
    const base = { date: 1, chat: user.chat(), from: user.from() };
    const photo = {
      update_id: newUpdateId(),
      message: {
        ...base,
        message_id: h.fake.userMessage(user.id, '[photo]'),
        photo: [{ file_id: 'f', file_unique_id: 'u', width: 1, height: 1 }],
      },
    };
    const sticker = {
      update_id: newUpdateId(),
      message: {
        ...base,
        message_id: h.fake.userMessage(user.id, '[sticker]'),
        sticker: {
          file_id: 's',
          file_unique_id: 'u',
          type: 'regular',
          width: 1,
          height: 1,
          is_animated: false,
          is_video: false,
        },
      },
    };
    for (const u of [photo, sticker]) expect((await h.post(u)).statusCode).toBe(200);
    const texts = h.fake.callsOf('sendMessage').map((c) => String(c.params.text));
    expect(texts).toHaveLength(2);
    for (const t of texts) expect(t).toMatch(/je ne lis que le texte/);
    expect(await h.hasConversation(user)).toBe(false);
  });

  it('an edited message gets a short notice and changes nothing', async () => {
    const user = h.user({ lang: 'en' });
    await user.say('/start jeune');
    h.fake.calls.length = 0;
    const edited = user.textUpdate('No');
    const res = await h.post({
      update_id: edited.update_id,
      edited_message: { ...edited.message, edit_date: 2 },
    });
    expect(res.statusCode).toBe(200);
    const texts = h.fake.callsOf('sendMessage').map((c) => String(c.params.text));
    expect(texts).toEqual(['Edited messages are not taken into account: please send a new message instead.']);
    // Still on the first question.
    expect(user.findButton('safe')).toBeDefined();
  });

  it('the user blocks the bot (my_chat_member kicked): the conversation row is gone', async () => {
    const user = h.user();
    await user.say('/start jeune');
    expect(await h.hasConversation(user)).toBe(true);
    const res = await h.post({
      update_id: newUpdateId(),
      my_chat_member: {
        chat: user.chat(),
        from: user.from(),
        date: 1,
        old_chat_member: { status: 'member', user: { id: 1, is_bot: true, first_name: 'bot' } },
        new_chat_member: {
          status: 'kicked',
          user: { id: 1, is_bot: true, first_name: 'bot' },
          until_date: 0,
        },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(await h.hasConversation(user)).toBe(false);
  });

  it('sending fails with 403 (blocked): the conversation is forgotten', async () => {
    const user = h.user();
    await user.say('/start jeune');
    expect(await h.hasConversation(user)).toBe(true);
    h.fake.blocked.add(user.id);
    expect((await user.press('safe')).statusCode).toBe(200);
    expect(await h.hasConversation(user)).toBe(false);
  });

  it('floods: past 30 updates in 10 s the user gets one notice and the rest is dropped', async () => {
    const user = h.user();
    const edits = Array.from({ length: 40 }, () => {
      const u = user.textUpdate('x');
      return { update_id: u.update_id, edited_message: { ...u.message, edit_date: 2 } };
    });
    for (const e of edits) expect((await h.post(e)).statusCode).toBe(200);
    const texts = h.fake.callsOf('sendMessage').map((c) => String(c.params.text));
    expect(texts.filter((t) => t.startsWith('Trop de messages d’un coup'))).toHaveLength(1);
    expect(texts).toHaveLength(31);
    // Another user is not slowed down.
    await h.user().say('/start');
    expect(h.fake.callsOf('sendMessage').length).toBeGreaterThan(31);
  });

  it('observes the webhook latency for the telegram channel', async () => {
    const res = await h.t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/intake_webhook_duration_seconds_count\{channel="telegram"\} [1-9]/);
  });
});
