// Golden transcripts of the two conversation scripts, in French and English, along their main branches.
// Each walk drives the real engine turn by turn, renders every reply and effect as plain text and compares
// the result with tests/flows/__golden__/<walk>.txt. Rewrite the files with `UPDATE_GOLDEN=1 npx vitest run
// tests/flows/golden.test.ts`, then read the diff: it is the conversation as a user will see it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type Capabilities,
  type ConversationState,
  type Effect,
  type Flow,
  type Reply,
  type StepResult,
  step,
  type Turn,
  type Urgency,
} from '../../src/engine/index.js';
import { FlowRegistry } from '../../src/flows/index.js';

const GOLDEN_DIR = fileURLToPath(new URL('./__golden__/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const REFERENCE = 'R-TEST-0001';
const RECEIPT = 'ABCD-EFGH-JKMN-PQRS';
/** A fixed clock (a Wednesday morning in Paris), 20 seconds per turn. */
const T0 = Date.UTC(2025, 0, 15, 9, 0, 0);
const CAPS: Capabilities = { buttons: true, deleteMessages: true };
/** A young person should be done in about 15 messages (their own turns, /start included). */
const YOUTH_MAX_USER_TURNS = 15;
/**
 * A professional who skips every optional question is done in this many turns (/start, the required answers,
 * one "Passer" per optional question, the confirmation): a new required question must be a deliberate choice.
 */
const PROFESSIONAL_SHORTEST_MAX_USER_TURNS = 22;

/** What the simulated user does. */
type Action =
  /** Types a message (an answer or a command). */
  | { say: string }
  /** Presses a button of the choices shown last (option id; built-ins: $done, $skip, $confirm, $change, yes, no). */
  | { press: string }
  /** Presses several buttons of a multiple choice, then "Valider". */
  | { tick: string[] };

interface Walk {
  name: string;
  flow: 'youth' | 'professional';
  lang: 'fr' | 'en';
  title: string;
  payload: string;
  actions: Action[];
  /** Expected urgency of the submit effect, or `null` when the walk ends without sending. */
  urgency: Urgency | null;
  /** Expected routing of the submit effect. */
  routing?: Record<string, unknown>;
  /** Whether the submit effect asks for a secret code (default true; false for "I don't want a reply"). */
  receipt?: boolean;
  /** The most user turns (/start included) the walk may take: set on the shortest path of a flow. */
  maxUserTurns?: number;
  /** The `end` step the walk finishes on (its text is the last reply). */
  endsOn: string;
}

/** The real registry: every flow file is loaded and checked, and /start payloads select flows by alias. */
const REGISTRY = FlowRegistry.load();

function flowOf(walk: Walk): Flow {
  const flow = REGISTRY.byAlias(walk.payload);
  if (!flow) throw new Error(`${walk.name}: /start ${walk.payload} selects no flow`);
  return flow;
}

// --- Rendering -------------------------------------------------------------------------------------------

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line, i) => (i === 0 ? line : line ? `${prefix}${line}` : prefix.trimEnd()))
    .join('\n');
}

function renderReply(reply: Reply): string[] {
  switch (reply.type) {
    case 'text':
      return [`<< ${indent(reply.text, '   ')}`];
    case 'choices': {
      const head = `<< [${reply.multi ? 'multi' : 'choice'} ${reply.stepId}] ${indent(reply.text, '   ')}`;
      const options = reply.options.map((o) => {
        const box = reply.multi && !o.id.startsWith('$') ? (o.selected ? '[x] ' : '[ ] ') : '';
        return `     - ${box}${o.label}  {${o.id}}`;
      });
      return [head, ...options];
    }
    case 'emergency':
      return [
        `<< [emergency] ${reply.title}`,
        ...reply.lines.map((l) => `     ${l.number} : ${l.label}`),
        ...(reply.text ? [`   ${indent(reply.text, '   ')}`] : []),
      ];
    case 'summary':
      return [
        `<< [summary] ${indent(reply.title, '   ')}`,
        ...reply.items.map((i) => `     ${i.label} : ${indent(i.value, '       ')}`),
      ];
    case 'receipt':
      return [
        `<< [receipt] reference ${reply.reference}${reply.receipt ? `, code ${reply.receipt}` : ''}`,
        `   ${indent(reply.text, '   ')}`,
      ];
  }
}

function renderEffect(effect: Effect): string[] {
  if (effect.type !== 'submit') return [`!! ${effect.type}`];
  return [
    `!! submit ${effect.flowId} v${effect.flowVersion} (${effect.kind}, ${effect.lang}) urgency=${effect.urgency} receipt=${effect.receipt}`,
    `     routing ${JSON.stringify(effect.routing)}`,
    ...Object.entries(effect.answers).map(([k, v]) => `     ${k} = ${JSON.stringify(v)}`),
  ];
}

// --- Driving the engine ------------------------------------------------------------------------------------

interface Transcript {
  text: string;
  userTurns: number;
  botMessages: number;
  submits: Extract<Effect, { type: 'submit' }>[];
  final: StepResult;
  lastReply: Reply | undefined;
}

function run(walk: Walk): Transcript {
  const flow = flowOf(walk);
  const lines: string[] = [
    `# ${walk.name}: ${walk.title}`,
    `# flow ${flow.id} v${flow.version}, language ${walk.lang}. Generated by tests/flows/golden.test.ts (UPDATE_GOLDEN=1).`,
    '# ">>" user, "<<" bot, "!!" effect for the caller, "==" status when not awaiting input.',
    '',
  ];
  let state: ConversationState | null = null;
  let now = T0;
  let userTurns = 0;
  /** Of the user turns: buttons pressed (each toggle and "Valider" too) and messages typed (not /start). */
  let taps = 0;
  let typed = 0;
  let botMessages = 0;
  let lastChoices: Extract<Reply, { type: 'choices' }> | undefined;
  let lastReply: Reply | undefined;
  let result: StepResult | undefined;
  const submits: Extract<Effect, { type: 'submit' }>[] = [];

  const apply = (turn: Turn, shown: string) => {
    lines.push(shown);
    result = step(flow, state, turn);
    state = result.state;
    now += 20_000;
    for (const reply of result.replies) {
      // A multiple choice re-rendered after a toggle is the same message edited in place.
      const edit =
        reply.type === 'choices' && lastReply?.type === 'choices' && lastReply.stepId === reply.stepId;
      if (!edit) botMessages += 1;
      if (reply.type === 'choices') lastChoices = reply;
      lastReply = reply;
      lines.push(...renderReply(reply));
    }
    for (const effect of result.effects) {
      if (effect.type === 'submit') submits.push(effect);
      lines.push(...renderEffect(effect));
    }
    if (result.status !== 'awaiting-input') lines.push(`== ${result.status}`);
    lines.push('');
  };

  const press = (optionId: string) => {
    const choices = lastChoices;
    if (!choices) throw new Error(`${walk.name}: no buttons to press "${optionId}"`);
    const option = choices.options.find((o) => o.id === optionId);
    if (!option) {
      throw new Error(
        `${walk.name}: no button "${optionId}" on ${choices.stepId} (${choices.options.map((o) => o.id).join(', ')})`,
      );
    }
    userTurns += 1;
    taps += 1;
    apply(
      { kind: 'choice', now, stepId: choices.stepId, optionId, capabilities: CAPS },
      `>> [${option.label}]`,
    );
  };

  userTurns += 1;
  apply(
    { kind: 'start', now, payload: walk.payload, locale: walk.lang, capabilities: CAPS },
    `>> /start ${walk.payload}`,
  );
  for (const action of walk.actions) {
    if ('say' in action) {
      userTurns += 1;
      typed += 1;
      apply({ kind: 'text', now, text: action.say, capabilities: CAPS }, `>> ${indent(action.say, '   ')}`);
    } else if ('press' in action) {
      press(action.press);
    } else {
      for (const id of action.tick) press(id);
      press('$done');
    }
  }
  if (submits.length > 0) {
    // Like the service: a secret code only when the submit step asked for one.
    const withReceipt = submits[0]?.receipt !== false;
    apply(
      {
        kind: 'submitted',
        now,
        reference: REFERENCE,
        ...(withReceipt ? { receipt: RECEIPT } : {}),
        capabilities: CAPS,
      },
      `>> (service: submitted ${REFERENCE}${withReceipt ? `, receipt ${RECEIPT}` : ', no receipt'})`,
    );
  }
  lines.push(
    `# ${userTurns} user turns (/start, ${taps} taps, ${typed} typed), ${botMessages} bot messages.`,
  );
  if (!result) throw new Error('no turn was played');
  return { text: `${lines.join('\n')}\n`, userTurns, botMessages, submits, final: result, lastReply };
}

// --- The walks ---------------------------------------------------------------------------------------------

const WALKS: Walk[] = [
  {
    name: 'youth-fr-safe-me',
    flow: 'youth',
    lang: 'fr',
    title: 'safe, about me, owes money to an older partner, reply here with the secret code',
    payload: 'jeune',
    actions: [
      { press: 'safe' },
      { press: 'me' },
      { press: 'age_15_16' },
      { tick: ['partner', 'owes'] },
      { say: "Il a 22 ans. Il dit que je lui dois de l'argent pour les cadeaux." },
      { tick: ['talk', 'health'] },
      { press: 'receipt' },
      { press: 'yes' },
      { press: '$confirm' },
    ],
    urgency: 'high',
    routing: {},
    endsOn: 'end_me',
  },
  {
    name: 'youth-en-unsure-me',
    flow: 'youth',
    lang: 'en',
    title: 'not sure about safety (emergency card, high), about me, pictures (3018), typed answers, code',
    payload: 'youth',
    actions: [
      { say: "I don't know" },
      { say: '1' },
      { say: 'me' },
      { say: '2' },
      { say: '1, 5' },
      { say: 'He has my pictures and says he will post them.' },
      { say: '1' },
      { say: '1' },
      { say: 'no' },
      { say: 'yes' },
    ],
    urgency: 'high',
    routing: {},
    endsOn: 'end_me',
  },
  {
    name: 'youth-fr-unsafe-friend-phone',
    flow: 'youth',
    lang: 'fr',
    title: 'not safe (emergency card), goes on, a friend with nowhere safe to sleep (tonight), phone call',
    payload: 'aide',
    actions: [
      { press: 'unsafe' },
      { press: 'continue' },
      { press: 'friend' },
      { press: '$skip' },
      { tick: ['nowhere_safe', 'threats'] },
      { say: '/passer' },
      { tick: ['shelter', 'how_to_help'] },
      { press: 'phone' },
      { say: '06 12 34 56 78' },
      { press: '$confirm' },
    ],
    urgency: 'immediate',
    routing: {},
    endsOn: 'end_phone',
  },
  {
    name: 'youth-en-under-13-phone',
    flow: 'youth',
    lang: 'en',
    title: 'safe, about me, under 13 (high), taken to flats, threats, phone call',
    payload: 'help',
    actions: [
      { press: 'safe' },
      { press: 'me' },
      { press: 'under_13' },
      { tick: ['hotels', 'threats'] },
      { say: 'A man takes me to a flat after school.' },
      { press: '$skip' },
      { press: 'phone' },
      { say: '07 00 00 00 00' },
      { press: '$confirm' },
    ],
    urgency: 'high',
    routing: {},
    endsOn: 'end_phone',
  },
  {
    name: 'youth-fr-no-reply-change',
    flow: 'youth',
    lang: 'fr',
    title: 'safe, about me, own "plans" and strangers online (3018), changes to no reply in the summary',
    payload: 'jeune',
    actions: [
      { press: 'safe' },
      { press: 'me' },
      { press: 'age_13_14' },
      { tick: ['online', 'own_plans'] },
      { press: '$skip' },
      { press: '$skip' },
      { press: 'receipt' },
      { press: 'no' },
      { press: '$change' },
      { press: 'contact' },
      { press: 'none' },
      { press: '$confirm' },
    ],
    urgency: 'normal',
    routing: {},
    receipt: false,
    endsOn: 'end_no_reply',
  },
  {
    name: 'youth-en-safe-friend-no-reply',
    flow: 'youth',
    lang: 'en',
    title: 'safe, about a friend, skips most questions, wants no reply',
    payload: 'help',
    actions: [
      { press: 'safe' },
      { press: 'friend' },
      { press: 'age_17' },
      { tick: ['plan', 'online'] },
      { press: '$skip' },
      { press: '$skip' },
      { press: 'none' },
      { press: '$confirm' },
    ],
    urgency: 'normal',
    routing: {},
    receipt: false,
    endsOn: 'end_no_reply',
  },
  {
    name: 'youth-fr-friend-receipt',
    flow: 'youth',
    lang: 'fr',
    title: 'safe, about a friend, pictures (3018), reply here with the secret code',
    payload: 'jeune',
    actions: [
      { press: 'safe' },
      { press: 'friend' },
      { press: 'age_13_14' },
      { tick: ['asked', 'pictures'] },
      { say: "Ma copine a 14 ans. Un mec de 20 ans a des photos d'elle." },
      { press: '$skip' },
      { press: 'receipt' },
      { press: 'no' },
      { press: '$confirm' },
    ],
    urgency: 'high',
    routing: {},
    endsOn: 'end_friend',
  },
  {
    name: 'youth-en-unsure-friend-receipt',
    flow: 'youth',
    lang: 'en',
    title: 'not sure about safety (emergency card, high), goes on, a friend kept from going home, code',
    payload: 'youth',
    actions: [
      { press: 'unsure' },
      { press: 'continue' },
      { press: 'friend' },
      { press: 'age_15_16' },
      { tick: ['kept_away'] },
      { say: '/skip' },
      { tick: ['talk', 'how_to_help'] },
      { press: 'receipt' },
      { press: '$skip' },
      { press: '$confirm' },
    ],
    urgency: 'high',
    routing: {},
    endsOn: 'end_friend',
  },
  {
    name: 'youth-fr-unsafe-later',
    flow: 'youth',
    lang: 'fr',
    title: 'not safe (emergency card), stops there: nothing is sent',
    payload: 'jeune',
    actions: [{ press: 'unsafe' }, { press: 'later' }],
    urgency: null,
    endsOn: 'end_later',
  },
  {
    name: 'youth-en-unsure-later',
    flow: 'youth',
    lang: 'en',
    title: 'not sure about safety (emergency card), stops there: nothing is sent',
    payload: 'youth',
    actions: [{ press: 'unsure' }, { press: 'later' }],
    urgency: null,
    endsOn: 'end_later',
  },
  {
    name: 'professional-fr-danger-full',
    flow: 'professional',
    lang: 'fr',
    title:
      'full path: immediate danger, lives in Seine-Saint-Denis, facts in a Paris hotel, on the run, call-back',
    payload: 'pro',
    actions: [
      { press: 'yes' },
      { press: 'ase' },
      { say: "Foyer de l'enfance, Bobigny" },
      { say: '01 23 45 67 89' },
      { say: 'Mme Diallo' },
      { say: 'L. B.' },
      { press: 'age_14' },
      { press: 'seine_saint_denis' },
      { say: 'Saint-Denis' },
      { tick: ['running_away', 'money_gifts', 'networks', 'talked'] },
      {
        say: "Fugue depuis samedi. Vue hier soir devant un hôtel près de la gare du Nord, avec un homme d'environ 25 ans.",
      },
      { say: 'hier' },
      { tick: ['other_town', 'hotel'] },
      { say: 'Paris' },
      { tick: ['seen', 'youth_told'] },
      { say: '« Il m’a trouvé des plans, c’est juste pour un moment. »' },
      { tick: ['partner', 'buyers'] },
      { press: 'runaway_reported' },
      { tick: ['ase'] },
      { tick: ['police'] },
      { press: 'against_interest' },
      { press: 'no' },
      { tick: ['advice', 'ip_help'] },
      { press: '$confirm' },
    ],
    urgency: 'immediate',
    routing: { territory: 'seine_saint_denis', commune: 'Saint-Denis' },
    endsOn: 'end_urgent',
  },
  {
    name: 'professional-fr-shortest',
    flow: 'professional',
    lang: 'fr',
    title: 'shortest path: no danger, every optional question skipped, no contact left',
    payload: 'professionnel',
    actions: [
      { press: 'no' },
      { press: 'school' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: 'age_15' },
      { press: 'unknown' },
      { tick: ['school'] },
      { say: 'Absences le vendredi depuis un mois. Parle d’un « plan » à ses amies.' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$confirm' },
    ],
    urgency: 'normal',
    routing: { territory: 'unknown' },
    maxUserTurns: PROFESSIONAL_SHORTEST_MAX_USER_TURNS,
    endsOn: 'end_no_contact',
  },
  {
    name: 'professional-en-danger',
    flow: 'professional',
    lang: 'en',
    title: 'immediate danger, lives elsewhere, "2" typed for the contact is asked again, e-mail given',
    payload: 'professional',
    actions: [
      { press: 'yes' },
      { press: 'police' },
      { say: 'Police station, Aubervilliers' },
      { say: '2' },
      { say: 'brigade.mineurs@example.org' },
      { say: 'Sgt Martin' },
      { press: '$skip' },
      { press: 'age_16' },
      { press: 'elsewhere' },
      { tick: ['money_gifts', 'networks', 'marks'] },
      { say: 'Ads found online. Seen with bruises on Monday. Mother worried.' },
      { say: '13/01/2025' },
      { tick: ['hotel', 'online'] },
      { press: '$skip' },
      { tick: ['met_online'] },
      { press: 'family' },
      { tick: ['pjj'] },
      { tick: ['police'] },
      { press: 'informed' },
      { press: '$skip' },
      { tick: ['orientation'] },
      { press: '$confirm' },
    ],
    urgency: 'immediate',
    routing: { territory: 'elsewhere' },
    endsOn: 'end_urgent',
  },
  {
    name: 'professional-en-no-danger-change',
    flow: 'professional',
    lang: 'en',
    title: 'no danger, phone given, "ok" typed for the town is asked again, place changed from the summary',
    payload: 'pro',
    actions: [
      { press: 'no' },
      { press: 'association' },
      { say: 'Youth outreach team, Sevran' },
      { say: '06 98 76 54 32' },
      { press: '$skip' },
      { say: 'K.' },
      { press: 'age_17' },
      { press: 'unknown' },
      { tick: ['substances', 'other'] },
      { say: 'Often at the shopping centre late at night with older men. Not sure what is going on.' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$change' },
      { press: 'territory' },
      { press: 'seine_saint_denis' },
      { say: 'ok' },
      { say: 'Sevran' },
      { press: '$confirm' },
    ],
    urgency: 'normal',
    routing: { territory: 'seine_saint_denis', commune: 'Sevran' },
    endsOn: 'end_callback',
  },
  {
    name: 'professional-fr-adult',
    flow: 'professional',
    lang: 'fr',
    title: '18 or over: the protocol is for minors, an orientation request is sent',
    payload: 'pro',
    actions: [
      { press: 'no' },
      { press: 'health' },
      { say: 'PMI, Aubervilliers' },
      { say: 'accueil.pmi@exemple.fr' },
      { press: '$skip' },
      { press: '$skip' },
      { press: 'adult' },
      { press: 'orientation' },
      { say: 'Jeune femme de 19 ans, suivie chez nous plus jeune. Elle dit devoir de l’argent à un homme.' },
      { press: '$confirm' },
    ],
    urgency: 'normal',
    routing: {},
    endsOn: 'end_adult_sent',
  },
  {
    name: 'professional-en-adult-stop',
    flow: 'professional',
    lang: 'en',
    title: '18 or over: stops there, nothing is sent',
    payload: 'pro',
    actions: [
      { press: 'no' },
      { press: 'other' },
      { press: '$skip' },
      { press: '$skip' },
      { press: '$skip' },
      { press: 'adult' },
      { press: 'stop' },
    ],
    urgency: null,
    endsOn: 'end_adult',
  },
];

// --- Tests -------------------------------------------------------------------------------------------------

function endText(walk: Walk): string {
  const end = flowOf(walk).steps.find((s) => s.id === walk.endsOn);
  if (end?.type !== 'end' || !end.text) throw new Error(`${walk.name}: no end step "${walk.endsOn}"`);
  return end.text[walk.lang] ?? '';
}

describe('golden transcripts', () => {
  it('covers both flows, both languages and the main branches', () => {
    const names = WALKS.map((w) => w.name);
    expect(new Set(names).size).toBe(names.length);
    for (const flow of ['youth', 'professional'] as const) {
      for (const lang of ['fr', 'en'] as const) {
        expect(WALKS.some((w) => w.flow === flow && w.lang === lang)).toBe(true);
      }
    }
  });

  it('reaches every ending of the professional flow', () => {
    const ends = REGISTRY.latest('professional')!.steps.filter((s) => s.type === 'end');
    const missing = ends.filter(
      (end) => !WALKS.some((w) => w.flow === 'professional' && w.endsOn === end.id),
    );
    expect(missing.map((end) => end.id)).toEqual([]);
  });

  it('reaches every ending of the youth flow in French and in English', () => {
    const ends = REGISTRY.latest('youth')!.steps.filter((s) => s.type === 'end');
    for (const end of ends) {
      for (const lang of ['fr', 'en'] as const) {
        const found = WALKS.some((w) => w.flow === 'youth' && w.lang === lang && w.endsOn === end.id);
        expect(found, `a youth walk ending on ${end.id} in ${lang}`).toBe(true);
      }
    }
  });

  it('selects each flow by its /start alias', () => {
    for (const walk of WALKS) expect(flowOf(walk).id, walk.name).toBe(walk.flow);
  });

  for (const walk of WALKS) {
    describe(walk.name, () => {
      const transcript = run(walk);
      const file = join(GOLDEN_DIR, `${walk.name}.txt`);

      it('matches the golden transcript', () => {
        if (UPDATE) {
          mkdirSync(GOLDEN_DIR, { recursive: true });
          writeFileSync(file, transcript.text);
        }
        if (!existsSync(file)) {
          throw new Error(`missing ${file}: run UPDATE_GOLDEN=1 npx vitest run tests/flows/golden.test.ts`);
        }
        expect(transcript.text).toBe(readFileSync(file, 'utf8'));
      });

      it('sends once with the expected urgency and routing, then ends', () => {
        const { final, submits } = transcript;
        if (walk.urgency === null) {
          expect(submits).toEqual([]);
        } else {
          expect(submits).toHaveLength(1);
          const submit = submits[0]!;
          expect(submit.urgency).toBe(walk.urgency);
          expect(submit.receipt).toBe(walk.receipt ?? true);
          expect(submit.kind).toBe(walk.flow);
          expect(submit.lang).toBe(walk.lang);
          expect(submit.routing).toEqual(walk.routing);
        }
        expect(final.status).toBe('completed');
        expect(final.state).toBeNull();
        expect(final.effects).toContainEqual({ type: 'forget' });
        if (walk.flow === 'youth') {
          // A young person's last message carries the quick-exit button (the platform can delete messages).
          expect(transcript.lastReply).toEqual({
            type: 'choices',
            stepId: '$erase',
            text: endText(walk),
            multi: false,
            options: [
              {
                id: '$erase',
                label: walk.lang === 'fr' ? 'Effacer cette conversation' : 'Erase this conversation',
              },
            ],
          });
        } else {
          expect(transcript.lastReply).toEqual({ type: 'text', text: endText(walk) });
        }
      });

      if (walk.maxUserTurns !== undefined) {
        const max = walk.maxUserTurns;
        it(`takes at most ${max} user turns on the shortest path`, () => {
          expect(transcript.userTurns).toBeLessThanOrEqual(max);
        });
      }
      if (walk.flow === 'youth') {
        it(`lets a young person finish in at most ${YOUTH_MAX_USER_TURNS} turns`, () => {
          expect(transcript.userTurns).toBeLessThanOrEqual(YOUTH_MAX_USER_TURNS);
        });
      }
    });
  }
});
