// The quick exit on Teams: /effacer (or the youth flow's "Effacer cette conversation" button) deletes every
// activity the bot sent in the 1:1 chat — after a finished report, after /suivi output and mid-flow — and says
// honestly that Teams does not let a bot delete the user's own messages. Expected ids are the ones the fake
// Bot Connector assigned, never the service's own record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../../src/coordinators/index.js';
import { buildTestApp, type TestApp } from '../../helper.js';
import { cardOf, FakeConnector, listen, submitsOf, TeamsClient } from './support.js';

let connector: FakeConnector;
let t: TestApp;
let base: string;

beforeAll(async () => {
  connector = await new FakeConnector().start();
  t = await buildTestApp();
  await createCoordinator(
    t.db,
    t.keyring,
    {
      name: 'Coord Teams',
      login: 'coord.erase',
      inbox: 'coordination',
      passphrase: 'erase tests passphrase',
    },
    ['coordination'],
  );
  base = await listen(t.app);
});

afterAll(async () => {
  await t?.close();
  await connector?.stop();
});

const PREFERRED = ['$confirm', 'safe', 'continue', 'me', 'receipt', '$skip'];

/** Option ids of the latest card with buttons, and whether it is a multiple choice. */
function latest(c: TeamsClient): { options: string[]; multi: boolean } {
  // biome-ignore lint/suspicious/noExplicitAny: Adaptive Card JSON
  const card: any = c.lastCard();
  // biome-ignore lint/suspicious/noExplicitAny: Adaptive Card JSON
  const multi = (card.body ?? []).some((b: any) => b.type === 'Input.ChoiceSet' && b.isMultiSelect);
  return { options: submitsOf(card).map((s) => String(s.data?.optionId)), multi };
}

/** Whether the latest message is a card with buttons (else a free-text question). */
function lastIsCard(c: TeamsClient): boolean {
  const last = c.received().at(-1);
  return last !== undefined && cardOf(last) !== undefined && submitsOf(cardOf(last)).length > 0;
}

/** Installs the bot, picks the youth flow and finishes it whatever its questions. */
async function finishYouthFlow(c: TeamsClient): Promise<void> {
  await c.install();
  await c.press('youth');
  for (let turns = 0; turns < 60; turns++) {
    if (!lastIsCard(c)) {
      await c.say('/passer');
      continue;
    }
    const { options, multi } = latest(c);
    if (options.includes('$erase')) return;
    if (multi) {
      // biome-ignore lint/suspicious/noExplicitAny: Adaptive Card JSON
      const set = (c.lastCard().body ?? []).find((b: any) => b.type === 'Input.ChoiceSet' && b.isMultiSelect);
      await c.choose([set.choices[0].value]);
    } else await c.press(PREFERRED.find((o) => options.includes(o)) ?? options[0]!);
  }
  throw new Error(`the youth flow did not end in 60 turns:\n${c.transcript()}`);
}

/** Ids of the bot's messages in this chat, as the connector assigned them. */
const sentIds = (c: TeamsClient) => connector.messages(c.conversationId).map((m) => m.id!);

describe('Teams quick exit', () => {
  it('after a finished report, the button deletes every bot message, and says what Teams keeps', async () => {
    const c = new TeamsClient(base, connector);
    await finishYouthFlow(c);
    expect(c.transcript()).toMatch(/R-[A-Z0-9]{6}/);
    const before = sentIds(c);
    expect(before.length).toBeGreaterThan(10);
    await c.press('$erase');
    expect(connector.deleted(c.conversationId).sort()).toEqual([...before].sort());
    const after = connector.messages(c.conversationId).slice(before.length);
    const text = after.map((m) => String(m.body.text ?? '')).join('\n');
    expect(text).toMatch(/Teams ne permet pas à un bot de supprimer/);
    expect(text).not.toMatch(/R-[A-Z0-9]{6}/);

    // The confirmation is deleted by a later /effacer, and nothing is deleted twice.
    const confirmation = sentIds(c).slice(before.length);
    await c.say('/effacer');
    expect(connector.deleted(c.conversationId).sort()).toEqual([...before, ...confirmation].sort());
  });

  it('after /suivi output, /effacer deletes the receipt and the answer', async () => {
    const c = new TeamsClient(base, connector);
    await finishYouthFlow(c);
    const code = /Code secret \(reçu\) : (\S+)/.exec(c.transcript())?.[1];
    expect(code).toBeDefined();
    await c.say(`/suivi ${code}`);
    const before = sentIds(c);
    await c.say('/effacer');
    expect(connector.deleted(c.conversationId).sort()).toEqual([...before].sort());
  });

  it('mid-flow, /effacer deletes every bot message so far', async () => {
    const c = new TeamsClient(base, connector);
    await c.install();
    await c.press('youth');
    const before = sentIds(c);
    expect(before.length).toBeGreaterThan(1);
    await c.say('/effacer');
    expect(connector.deleted(c.conversationId).sort()).toEqual([...before].sort());
  });
});
