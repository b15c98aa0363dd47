/**
 * A slow Bot API: the webhook answers 200 once its handler timeout has passed (Telegram would otherwise
 * give up and redeliver), and a press whose answer could not ride on that response is answered by a
 * request when the turn ends.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ telegram: { handlerTimeoutMs: 100 } });
});
afterAll(async () => {
  await h?.t.close();
  await h?.fake.close();
});

it('answers 200 after the handler timeout, and answers the press by a request when the turn ends', async () => {
  const user = h.user();
  await user.say('/start jeune');
  const { message, data } = user.findButton('safe');
  h.fake.calls.length = 0;
  h.fake.slow = { method: 'sendMessage', ms: 600 };
  const started = Date.now();
  const res = await h.post(user.pressUpdate(message, data));
  expect(res.statusCode).toBe(200);
  expect(JSON.parse(res.body)).toEqual({ ok: true });
  expect(Date.now() - started).toBeLessThan(550);
  // Not answered yet: the next question is still on its way.
  expect(h.fake.callsOf('answerCallbackQuery')).toEqual([]);
  await expect
    .poll(() => h.fake.callsOf('answerCallbackQuery').length, { timeout: 5_000, interval: 50 })
    .toBe(1);
  h.fake.slow = undefined;
  // The turn went through: the next question arrived and can be answered.
  expect(user.findButton('me')).toBeDefined();
});
