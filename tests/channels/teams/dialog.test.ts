/**
 * The Teams dialog: a flow's welcome is followed by a card whose action (`msteams: { type: 'task/fetch' }`)
 * makes Teams ask the bot for a dialog; the bot answers with the web flow (`/chat/?…&in=teams`), which only
 * Microsoft's Teams origins may frame. Real botbuilder, real HTTP, a fake Bot Connector on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCsp } from '../../../src/webflow/index.js';
import { buildTestApp, type TestApp, testConfig } from '../../helper.js';
import { cardOf, FakeConnector, listen, submitsOf, TeamsClient } from './support.js';

const PUBLIC_URL = 'https://signalement.example.fr';

let connector: FakeConnector;
let t: TestApp;
let base: string;
let plain: TestApp;
let plainBase: string;

beforeAll(async () => {
  connector = await new FakeConnector().start();
  t = await buildTestApp({ config: testConfig({ publicUrl: PUBLIC_URL }) });
  base = await listen(t.app);
  plain = await buildTestApp();
  plainBase = await listen(plain.app);
});

afterAll(async () => {
  await t?.close();
  await plain?.close();
  await connector?.stop();
});

async function conversations(app: TestApp): Promise<number> {
  const r = await app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM conversations');
  return r.rows[0]!.n;
}

/** The card of a message whose action asks Teams for a dialog, if any. */
function dialogAction(c: TeamsClient) {
  for (const m of c.received()) {
    const card = cardOf(m);
    const action = card ? submitsOf(card).find((s) => s.data?.msteams?.type === 'task/fetch') : undefined;
    if (action) return { message: m, action };
  }
  return undefined;
}

describe('Teams dialog (the web flow inside Teams)', () => {
  it("offers the dialog right after the flow's welcome, and task/fetch answers the web flow", async () => {
    const c = new TeamsClient(base, connector);
    await c.install();
    expect(dialogAction(c)).toBeUndefined(); // not before a flow is chosen
    await c.press('professional');
    const offer = dialogAction(c);
    expect(offer).toBeDefined();
    // Right after the welcome: the second message of the flow, before its first question.
    const messages = c.received();
    const index = messages.indexOf(offer!.message);
    expect(messages[index - 1]!.body.text).toMatch(/Bonjour|Ce service/);
    expect(offer!.message.body.text).toMatch(/chiffrées sur votre appareil/);
    expect(offer!.message.body.text).toMatch(/Microsoft transmet et peut lire/);
    expect(offer!.action.data).toEqual({
      msteams: { type: 'task/fetch' },
      intake: 1,
      dialog: 'professional',
    });
    // The question after it is still the live card.
    expect(submitsOf(c.lastCard()).some((s) => s.data?.optionId === 'yes')).toBe(true);

    const before = await conversations(t);
    const r = await c.invoke('task/fetch', { data: offer!.action.data, context: { theme: 'default' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      task: {
        type: 'continue',
        value: {
          title: 'Signalement chiffré',
          url: `${PUBLIC_URL}/chat/?flow=professional&lang=fr&in=teams`,
          fallbackUrl: `${PUBLIC_URL}/chat/?flow=professional&lang=fr&in=teams`,
          height: 'large',
          width: 'medium',
        },
      },
    });
    // task/submit (the page closes the dialog, with no result): closed, nothing sent, nothing stored.
    const sent = connector.calls.length;
    const closed = await c.invoke('task/submit', { data: {}, context: { theme: 'default' } });
    expect(closed.status).toBe(200);
    expect(closed.body).toBeUndefined();
    expect(connector.calls.length).toBe(sent);
    expect(await conversations(t)).toBe(before);
  });

  it('opens the youth flow in English from the locale', async () => {
    const c = new TeamsClient(base, connector, undefined, { locale: 'en-US' });
    await c.install();
    await c.press('youth');
    const offer = dialogAction(c);
    expect(offer!.message.body.text).toMatch(/encrypted on your device/);
    const r = await c.invoke('task/fetch', { data: offer!.action.data });
    expect(r.body.task.value.url).toBe(`${PUBLIC_URL}/chat/?flow=youth&lang=en&in=teams`);
    expect(r.body.task.value.title).toBe('Encrypted report');
  });

  it('says why instead of opening a dialog: group chat, unknown flow; bad data is a 400', async () => {
    const group = new TeamsClient(base, connector, undefined, { conversationType: 'groupChat' });
    const inGroup = await group.invoke('task/fetch', { data: { intake: 1, dialog: 'professional' } });
    expect(inGroup.status).toBe(200);
    expect(inGroup.body.task.type).toBe('message');
    expect(inGroup.body.task.value).toMatch(/conversation privée/);

    const c = new TeamsClient(base, connector);
    const unknown = await c.invoke('task/fetch', { data: { intake: 1, dialog: 'nope' } });
    expect(unknown.body).toEqual({
      task: { type: 'message', value: expect.stringMatching(/n’est pas disponible/) },
    });

    for (const value of [
      {},
      { data: { intake: 2, dialog: 'youth' } },
      { data: { intake: 1, dialog: '../x' } },
    ]) {
      const bad = await c.invoke('task/fetch', value);
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/^activity\.value/);
    }
    // An invoke this bot does not implement.
    const other = await c.invoke('composeExtension/query', {});
    expect(other.status).toBe(400);
    expect(t.app.server.listening).toBe(true);
  });

  it('without an https PUBLIC_URL: no dialog card, and task/fetch says it is not available', async () => {
    const c = new TeamsClient(plainBase, connector);
    await c.install();
    await c.press('professional');
    expect(dialogAction(c)).toBeUndefined();
    const r = await c.invoke('task/fetch', { data: { intake: 1, dialog: 'professional' } });
    expect(r.body.task.type).toBe('message');
  });

  it('lets only the Teams origins frame /chat/?in=teams, and nobody a plain link', async () => {
    const framed = await fetch(`${base}/chat/?flow=professional&lang=fr&in=teams`);
    const csp = framed.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(chatCsp('teams'));
    expect(csp).toContain(
      'frame-ancestors https://teams.microsoft.com https://*.teams.microsoft.com https://teams.cloud.microsoft;',
    );
    expect(framed.headers.get('x-frame-options')).toBeNull();
    const link = await fetch(`${base}/chat/?flow=professional`);
    expect(link.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(link.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const other = await fetch(`${base}/chat/?in=elsewhere`);
    expect(other.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const telegram = await fetch(`${base}/chat/?in=telegram`);
    expect(telegram.headers.get('content-security-policy')).toContain(
      'frame-ancestors https://web.telegram.org;',
    );
  });
});
