/**
 * Drives whole conversations through the real IntakeService, the way a channel does: button presses use
 * the step id of the last choices shown, typed text goes as text turns.
 */
import type { Capabilities, Reply, Turn } from '../../src/engine/index.js';
import type { IntakeService, TurnOutcome } from '../../src/intake/index.js';

export type Action = { say: string } | { press: string } | { tick: string[] };

const CAPS: Capabilities = { buttons: true, deleteMessages: false };

export interface WalkResult {
  outcomes: TurnOutcome[];
  replies: Reply[];
  reference?: string;
  receipt?: string;
}

/** Runs `/start <payload>` then each action; returns every reply and the receipt if one was issued. */
export async function runWalk(
  service: IntakeService,
  opts: {
    channel?: string;
    user: string;
    payload: string;
    lang: 'fr' | 'en';
    actions: Action[];
    now?: number;
  },
): Promise<WalkResult> {
  const channel = opts.channel ?? 'cli';
  let now = opts.now ?? Date.now();
  const outcomes: TurnOutcome[] = [];
  const replies: Reply[] = [];
  let lastStep = '';
  const send = async (turn: Turn) => {
    const o = await service.handleTurn({ channel, platformUserId: opts.user, turn });
    outcomes.push(o);
    replies.push(...o.replies);
    for (const r of o.replies) if (r.type === 'choices') lastStep = r.stepId;
    now += 1000;
    return o;
  };
  await send({ kind: 'start', now, payload: opts.payload, locale: opts.lang, capabilities: CAPS });
  for (const a of opts.actions) {
    if ('say' in a) await send({ kind: 'text', now, text: a.say, locale: opts.lang, capabilities: CAPS });
    else if ('press' in a)
      await send({ kind: 'choice', now, stepId: lastStep, optionId: a.press, capabilities: CAPS });
    else {
      const step = lastStep;
      for (const id of a.tick)
        await send({ kind: 'choice', now, stepId: step, optionId: id, capabilities: CAPS });
      await send({ kind: 'choice', now, stepId: step, optionId: '$done', capabilities: CAPS });
    }
  }
  const receipt = replies.find((r): r is Extract<Reply, { type: 'receipt' }> => r.type === 'receipt');
  return {
    outcomes,
    replies,
    ...(receipt
      ? { reference: receipt.reference, ...(receipt.receipt ? { receipt: receipt.receipt } : {}) }
      : {}),
  };
}

/** A youth walk to a sealed report; `m(i)` gives the free-text answers (markers in canary tests). */
export function youthWalk(m: (i: number) => string): Action[] {
  return [
    { press: 'unsafe' },
    { press: 'continue' },
    { press: 'me' },
    { press: 'age_15_16' },
    { tick: ['exchange', 'partner'] },
    { say: m(1) },
    { tick: ['talk', 'shelter'] },
    { press: 'phone' },
    { say: m(2) },
    { press: '$confirm' },
  ];
}

/**
 * A professional walk to a sealed report (immediate danger, lives in Seine-Saint-Denis, facts in a Paris hotel),
 * answering every question. `m(i)` fills the free texts; the contact is a phone number and the communes are
 * communes, since the flow checks their shape (a marker of letters and digits passes as a commune).
 */
export function professionalWalk(m: (i: number) => string): Action[] {
  return [
    { press: 'yes' },
    { press: 'ase' },
    { say: m(1) },
    { say: '01 23 45 67 89' },
    { say: m(2) },
    { say: m(5) },
    { press: 'age_14' },
    { press: 'seine_saint_denis' },
    { say: m(3) },
    { tick: ['running_away', 'money_gifts', 'talked'] },
    { say: m(4) },
    { say: 'hier' },
    { tick: ['other_town', 'hotel'] },
    { say: m(6) },
    { tick: ['youth_told'] },
    { say: m(7) },
    { tick: ['partner'] },
    { press: 'runaway_not_reported' },
    { tick: ['ase'] },
    { tick: ['crip'] },
    { press: 'not_yet' },
    { press: 'no' },
    { tick: ['advice'] },
    { press: '$confirm' },
  ];
}
