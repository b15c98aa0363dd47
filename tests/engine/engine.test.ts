import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isCommune, isEmail, isPhone, matchesFormat } from '../../src/engine/formats.js';
import {
  type ConversationState,
  ENGINE_VERSION,
  type Flow,
  isValidState,
  step,
  stringsFor,
} from '../../src/engine/index.js';
import { checkFlow, FlowRegistry, loadFlowFile, parseFlowText } from '../../src/flows/index.js';
import { BUTTONS, complete, Driver, FIXTURES, lastChoices, PLAIN, shown, T0, youthMini } from './helpers.js';

const fr = stringsFor('fr', 'professional');
const frTu = stringsFor('fr', 'youth');

/** Drives the complete fixture up to the step `until` with valid answers. */
function upTo(until: string, caps = BUTTONS): Driver {
  const d = new Driver(complete(), caps);
  const script: [string, () => void][] = [
    ['consent', () => d.start()],
    ['role', () => d.press('accept')],
    ['signs', () => d.press('teacher')],
    ['age', () => d.text('1, 2')],
    ['when', () => d.text('16')],
    ['details', () => d.text('hier')],
    ['summary', () => d.text('Il a 16 ans et fugue.')],
  ];
  for (const [reached, act] of script) {
    act();
    expect(d.state?.stepId).toBe(reached);
    if (reached === until) return d;
  }
  return d;
}

describe('a new conversation', () => {
  it('shows the messages up to the first question and pins engine and flow versions', () => {
    const d = new Driver(complete());
    const r = d.start();
    expect(r.status).toBe('awaiting-input');
    expect(r.replies[0]).toEqual({ type: 'text', text: 'Bienvenue.' });
    expect(lastChoices(r)).toMatchObject({
      stepId: 'consent',
      options: [
        { id: 'accept', label: "J'accepte" },
        { id: 'decline', label: 'Je refuse' },
      ],
    });
    expect(r.state?.v).toEqual([ENGINE_VERSION, 'complete', 2]);
    expect(r.state?.lastActiveAt).toBe(d.now);
    expect(isValidState(r.state, d.flow)).toBe(true);
  });
  it('speaks the turn locale when the flow has it', () => {
    const d = new Driver(complete());
    expect(d.start('en-GB').replies[0]).toEqual({ type: 'text', text: 'Welcome.' });
    expect(d.state?.lang).toBe('en');
  });
  it('does not take a first text message as an answer', () => {
    const d = new Driver(youthMini());
    d.text('oui');
    expect(d.state?.stepId).toBe('safety');
    expect(d.state?.answers).toEqual({});
  });
});

describe('step kinds', () => {
  it('message: shown, then the engine moves on by itself', () => {
    const d = new Driver(youthMini());
    d.start();
    const r = d.press('no');
    expect(r.replies[0]).toEqual({ type: 'text', text: 'Appelle le 17.' });
    expect(d.state?.stepId).toBe('story');
  });

  it('consent: accepting records true; declining goes to decline_goto', () => {
    const d = new Driver(complete());
    d.start();
    d.press('accept');
    expect(d.state?.answers.consent).toBe(true);
    const other = new Driver(complete());
    other.start();
    const r = other.text('je refuse');
    expect(shown(r)).toContain('Au revoir.');
    expect(r).toMatchObject({ state: null, status: 'completed', effects: [{ type: 'forget' }] });
  });

  it('choice: by button, number or label; urgency and emergency options', () => {
    const byNumber = upTo('role', PLAIN);
    const prompt = lastChoices(byNumber.last);
    expect(prompt?.text).toContain('1. Enseignant\n2. Infirmière scolaire');
    byNumber.text('2');
    expect(byNumber.state?.answers.role).toBe('nurse');

    const byLabel = upTo('role');
    expect(lastChoices(byLabel.last)?.text).toBe('Votre métier ?');
    byLabel.text('INFIRMIERE scolaire');
    expect(byLabel.state?.answers.role).toBe('nurse');

    const high = upTo('role');
    expect(high.press('police').effects).toEqual([]);
    expect(high.state?.urgency).toBe('high');

    const danger = upTo('role');
    const r = danger.press('danger');
    expect(danger.state?.urgency).toBe('immediate');
    expect(r.effects).toEqual([{ type: 'mark_urgent' }]);
    expect(r.replies.some((x) => x.type === 'emergency')).toBe(true);
  });

  it('multi_choice: toggles, Done, min, max and typed numbers', () => {
    const d = upTo('signs');
    d.press('money');
    d.press('runaway');
    let r = d.press('money');
    expect(lastChoices(r)?.options.slice(0, 3)).toEqual([
      { id: 'runaway', label: 'Fugues', selected: true },
      { id: 'money', label: 'Argent inexpliqué', selected: false },
      { id: 'marks', label: 'Marques', selected: false },
    ]);
    expect(lastChoices(r)?.multi).toBe(true);
    r = d.press('$done');
    expect(d.state?.answers.signs).toEqual(['runaway']);

    const min = upTo('signs');
    r = min.press('$done');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.invalidMultiMin(1) });
    expect(min.state?.stepId).toBe('signs');

    const max = upTo('signs');
    r = max.text('1, 2, 3');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.invalidMultiMax(2) });

    const typed = upTo('signs');
    typed.text('3 et 1');
    expect(typed.state?.answers.signs).toEqual(['runaway', 'marks']);
    expect(typed.state?.urgency).toBe('high'); // rule: includes marks
  });

  it('number: whole numbers in range, then branches on lt', () => {
    const d = upTo('age');
    let r = d.text('quinze');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.invalidNumber(0, 21) });
    r = d.text('30');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.invalidNumber(0, 21) });
    d.text('12 ans');
    expect(d.state?.answers.age).toBe(12);
    expect(d.state?.stepId).toBe('school');
  });

  it('yes_no: words, numbers and buttons; optional ones can be skipped', () => {
    for (const [input, expected] of [
      ['Oui', true],
      ['n', false],
      ['1', true],
      ['2', false],
      ['yes', true],
    ] as const) {
      const d = upTo('age');
      d.text('10');
      d.text(input);
      expect(d.state?.answers.school).toBe(expected);
    }
    const d = upTo('age');
    d.text('10');
    d.press('$skip');
    expect(d.state?.answers.school).toBeUndefined();
    expect(d.state?.skipped).toEqual(['school']);
    expect(d.state?.stepId).toBe('when');
  });

  it('date: dd/mm/yyyy, short forms, today and yesterday in Paris, not in the future', () => {
    const cases: [string, string | undefined][] = [
      ['hier', '2024-07-13'],
      ["aujourd'hui", '2024-07-14'],
      ['today', '2024-07-14'],
      ['5/3/2024', '2024-03-05'],
      ['05/03/24', '2024-03-05'],
      ['5-3-99', '1999-03-05'],
    ];
    for (const [input, iso] of cases) {
      const d = upTo('when');
      d.text(input);
      expect(d.state?.answers.when).toBe(iso);
    }
    const bad = upTo('when');
    expect(bad.text('31/02/2024').replies[0]).toEqual({ type: 'text', text: fr.invalidDate });
    expect(bad.text('01/01/2099').replies[0]).toEqual({ type: 'text', text: fr.invalidDateFuture });
    expect(bad.state?.stepId).toBe('when');
  });

  it('date: "today" follows the Paris calendar, not UTC', () => {
    const d = upTo('when');
    // 23:30 UTC on 14 July is already 15 July in Paris (UTC+2 in summer).
    d.now = Date.UTC(2024, 6, 14, 23, 30) - 1000;
    d.text('today');
    expect(d.state?.answers.when).toBe('2024-07-15');
  });

  it('text: min and max length, trimmed', () => {
    const d = upTo('details');
    expect(d.text('abc').replies[0]).toEqual({ type: 'text', text: fr.invalidTextShort(5) });
    expect(d.text('x'.repeat(51)).replies[0]).toEqual({ type: 'text', text: fr.invalidTextLong(50, 51) });
    d.text('  assez long  ');
    expect(d.state?.answers.details).toBe('assez long');
  });

  it('summary: answers in step order with labels, then confirm emits submit', () => {
    const d = upTo('summary');
    const summary = d.last.replies.find((r) => r.type === 'summary');
    expect(summary).toEqual({
      type: 'summary',
      title: 'Récapitulatif',
      items: [
        { stepId: 'consent', label: 'Acceptez-vous ?', value: 'Accepté' },
        { stepId: 'role', label: 'Métier', value: 'Enseignant' },
        { stepId: 'signs', label: 'Quels signes ?', value: 'Fugues, Argent inexpliqué' },
        { stepId: 'age', label: 'Quel âge ?', value: '16' },
        { stepId: 'when', label: 'Depuis quand ?', value: '13/07/2024' },
        { stepId: 'details', label: 'Des détails ?', value: 'Il a 16 ans et fugue.' },
      ],
    });
    const r = d.press('$confirm');
    expect(r.status).toBe('submitting');
    expect(r.effects).toEqual([
      {
        type: 'submit',
        flowId: 'complete',
        flowVersion: 2,
        kind: 'professional',
        lang: 'fr',
        answers: {
          consent: true,
          role: 'teacher',
          signs: ['runaway', 'money'],
          age: 16,
          when: '2024-07-13',
          details: 'Il a 16 ans et fugue.',
        },
        urgency: 'normal',
        routing: { role: 'teacher', details: 'Il a 16 ans et fugue.' },
        receipt: true,
        notify: false,
      },
    ]);
    expect(isValidState(d.state, d.flow)).toBe(true);
  });

  it('submit then submitted: receipt, end text, completed and forgotten', () => {
    const d = upTo('summary');
    d.press('$confirm');
    expect(d.text('allo ?').replies).toEqual([{ type: 'text', text: fr.submitWait }]);
    const r = d.submitted('PRO-7K3', 'secret-receipt');
    expect(r.replies[0]).toEqual({
      type: 'receipt',
      reference: 'PRO-7K3',
      receipt: 'secret-receipt',
      text: fr.receiptText(true),
    });
    expect(r.replies[1]).toEqual({ type: 'text', text: 'Merci.' });
    expect(r).toMatchObject({ state: null, status: 'completed', effects: [{ type: 'forget' }] });
  });

  it('submit_failed: keeps the answers and offers to try again', () => {
    const d = upTo('summary');
    d.press('$confirm');
    let r = d.turn({ kind: 'submit_failed', now: d.now + 1, reason: 'no_recipient', capabilities: BUTTONS });
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.submitFailed('no_recipient') });
    expect(lastChoices(r)?.options).toEqual([{ id: '$retry', label: fr.retry }]);
    expect(r.status).toBe('awaiting-input');
    r = d.text('réessayer');
    expect(r.status).toBe('submitting');
    expect(r.effects[0]?.type).toBe('submit');
  });

  it('end: a submitted turn without any state still gives the receipt', () => {
    const r = step(complete(), null, {
      kind: 'submitted',
      now: T0,
      reference: 'R-9',
      receipt: 'sec',
      capabilities: BUTTONS,
    });
    expect(r.replies[0]).toMatchObject({ type: 'receipt', reference: 'R-9', receipt: 'sec' });
    expect(r).toMatchObject({ state: null, status: 'completed' });
  });
});

describe('summary changes', () => {
  it('change one answer, then come back to the summary', () => {
    const d = upTo('summary');
    let r = d.press('$change');
    expect(lastChoices(r)?.stepId).toBe('summary:change');
    expect(lastChoices(r)?.options.map((o) => o.id)).toEqual([
      'consent',
      'role',
      'signs',
      'age',
      'when',
      'details',
      '$cancel',
    ]);
    d.press('role');
    expect(d.state?.stepId).toBe('role');
    r = d.press('nurse');
    expect(d.state?.stepId).toBe('summary');
    expect(r.replies.find((x) => x.type === 'summary')).toMatchObject({
      items: expect.arrayContaining([{ stepId: 'role', label: 'Métier', value: 'Infirmière scolaire' }]),
    });
  });
  it('a change that opens a new branch asks its questions before the summary, and drops the old ones', () => {
    const d = upTo('summary');
    d.press('$change');
    d.press('age');
    d.text('12');
    expect(d.state?.stepId).toBe('school');
    d.text('oui');
    expect(d.state?.stepId).toBe('summary');
    const r = d.press('$confirm');
    expect(r.effects[0]).toMatchObject({ answers: { age: 12, school: true } });
  });
  it('answers of an abandoned branch are not sent', () => {
    const d = upTo('age');
    d.text('10');
    d.text('oui'); // school
    d.text('hier');
    d.text('/passer');
    d.press('$change');
    d.press('age');
    d.text('18');
    expect(d.state?.stepId).toBe('summary');
    const r = d.press('$confirm');
    const effect = r.effects[0];
    expect(effect?.type === 'submit' && 'school' in effect.answers).toBe(false);
  });
  it('restart from the summary clears every answer', () => {
    const d = upTo('summary');
    d.press('$restart');
    expect(d.state).toMatchObject({ stepId: 'consent', answers: {}, skipped: [], urgency: 'normal' });
  });
});

describe('re-prompts', () => {
  it('names what is expected and shows the question again', () => {
    const d = new Driver(youthMini(), PLAIN);
    d.start();
    const r = d.text('peut-être');
    expect(r.replies[0]).toEqual({ type: 'text', text: frTu.invalidYesNo });
    expect(lastChoices(r)?.text).toContain('Es-tu en sécurité ?\n\n1. Oui\n2. Non');
  });
  it('offers /aide after 3 invalid answers in a row, not before, and resets after a valid answer', () => {
    const d = new Driver(youthMini());
    d.start();
    expect(shown(d.text('bof'))).not.toContain('/aide');
    expect(shown(d.text('bof'))).not.toContain('/aide');
    const third = d.text('bof');
    expect(third.replies[0]).toEqual({ type: 'text', text: `${frTu.invalidYesNo}\n\n${frTu.offerHelp}` });
    expect(d.state?.invalid).toBe(3);
    d.text('oui');
    expect(d.state?.invalid).toBe(0);
  });
  it('uses vous for professionals and tu for young people', () => {
    const pro = upTo('age');
    expect(shown(pro.text('??'))).toContain("J'attends un nombre");
    const youth = new Driver(youthMini());
    youth.start();
    expect(shown(youth.text('??'))).toContain('Réponds par oui ou par non');
    expect(fr.invalidYesNo).toContain('Répondez');
  });
});

describe('global commands', () => {
  it('/aide and /help show help, then the question again', () => {
    const d = new Driver(youthMini());
    d.start();
    for (const cmd of ['/aide', '/HELP']) {
      const r = d.text(cmd);
      expect(r.replies[0]).toEqual({ type: 'text', text: frTu.help });
      expect(lastChoices(r)?.stepId).toBe('safety');
    }
  });
  it('/passer is listed in the help of an optional step', () => {
    const d = upTo('details');
    expect(shown(d.text('/aide'))).toContain(fr.helpSkip);
  });
  it('/urgence, /emergency and the words urgence, danger, SOS, aide-moi show the emergency card', () => {
    const d = new Driver(youthMini());
    d.start();
    for (const input of ['/urgence', '/emergency', 'urgence', 'Danger !', 'SOS', 'Aide-moi !', 'à l’aide']) {
      const r = d.text(input);
      const card = r.replies.find((x) => x.type === 'emergency');
      expect(card && card.type === 'emergency' && card.lines.map((l) => l.number)).toEqual([
        '17',
        '112',
        '114',
        '15',
        '119',
        '3018',
        '116 000',
        '0 800 235 236',
      ]);
      expect(d.state?.stepId).toBe('safety');
      expect(d.state?.invalid).toBe(0);
    }
    const pro = new Driver(complete());
    pro.start();
    const card = pro.text('/urgence').replies[0];
    expect(card?.type === 'emergency' && card.lines.map((l) => l.number)).toEqual([
      '17',
      '112',
      '114',
      '15',
      '119',
      '116 000',
      '3018',
    ]);
  });
  it('/effacer and /erase erase at once', () => {
    for (const cmd of ['/effacer', '/Erase']) {
      const d = upTo('signs');
      const r = d.text(cmd);
      expect(r).toEqual({
        state: null,
        replies: [{ type: 'text', text: fr.erased(true) }],
        effects: [{ type: 'erase' }],
        status: 'erased',
      });
    }
  });
  it('/recommencer and /restart start again with nothing kept', () => {
    for (const cmd of ['/recommencer', '/restart']) {
      const d = upTo('age');
      const r = d.text(cmd);
      expect(r.replies[0]).toEqual({ type: 'text', text: fr.restarted });
      expect(d.state).toMatchObject({ stepId: 'consent', answers: {}, urgency: 'normal' });
    }
  });
  it('/langue en switches language; /language alone offers a picker; unknown languages are refused', () => {
    const d = upTo('role');
    let r = d.text('/langue en');
    expect(r.replies[0]).toEqual({ type: 'text', text: 'I will continue in English.' });
    expect(lastChoices(r)?.text).toBe('Your job?');
    r = d.text('/language');
    expect(lastChoices(r)).toMatchObject({ stepId: '$lang', options: [{ id: 'fr' }, { id: 'en' }] });
    r = d.press('fr', '$lang');
    expect(d.state?.lang).toBe('fr');
    r = d.text('/langue de');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.languageUnavailable('fr, en') });
  });
  it('/suivi and /followup ask the caller to open the replies; without a code they explain', () => {
    const d = upTo('role');
    const before = d.state;
    let r = d.text('/suivi AB12 CD34');
    expect(r.effects).toEqual([{ type: 'follow_up', receipt: 'AB12CD34' }]);
    expect(r.state?.stepId).toBe(before?.stepId);
    r = d.text('/followup');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.followUpUsage });
    expect(r.effects).toEqual([]);
    const fresh = step(complete(), null, {
      kind: 'text',
      now: T0,
      text: '/suivi XYZ',
      capabilities: BUTTONS,
    });
    expect(fresh).toEqual({
      state: null,
      replies: [],
      effects: [{ type: 'follow_up', receipt: 'XYZ' }],
      status: 'awaiting-input',
    });
  });
  it('/stop forgets the conversation', () => {
    const d = upTo('role');
    expect(d.text('/stop')).toEqual({
      state: null,
      replies: [{ type: 'text', text: fr.stopped }],
      effects: [{ type: 'forget' }],
      status: 'stopped',
    });
  });
  it('/passer and /skip skip optional steps only', () => {
    const d = upTo('when');
    d.text('/skip');
    expect(d.state?.stepId).toBe('details');
    d.text('/passer');
    expect(d.state?.stepId).toBe('summary');
    const required = upTo('role');
    const r = required.text('/passer');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.cannotSkip });
    expect(required.state?.stepId).toBe('role');
  });
  it('an unknown command is named as such and does not count as an invalid answer', () => {
    const d = upTo('role');
    const r = d.text('/teleport');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.unknownCommand });
    expect(d.state?.invalid).toBe(0);
  });
});

describe('buttons', () => {
  it('a press on an earlier question is stale: the current question is shown again', () => {
    const d = upTo('signs');
    const r = d.press('nurse', 'role');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.staleButton });
    expect(lastChoices(r)?.stepId).toBe('signs');
    expect(d.state?.answers.role).toBe('teacher');
  });
  it('an option id the step does not have is stale too', () => {
    const d = upTo('role');
    const r = d.press('astronaut');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.staleButton });
    expect(d.state?.answers.role).toBeUndefined();
  });
  it('choices are numbered in the text only without buttons, and always carry ids and labels', () => {
    const withButtons = upTo('role');
    const plain = upTo('role', PLAIN);
    expect(lastChoices(withButtons.last)?.text).not.toContain('1.');
    expect(lastChoices(plain.last)?.text).toContain('4. Danger immédiat');
    expect(lastChoices(plain.last)?.options).toEqual(lastChoices(withButtons.last)?.options);
  });
});

describe('expiry', () => {
  it('a conversation idle for more than 24 h is forgotten kindly and starts over', () => {
    const d = upTo('age');
    d.now += 24 * 3600 * 1000 + 1;
    const r = d.text('16');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.expired(24) });
    expect(d.state).toMatchObject({ stepId: 'consent', answers: {} });
  });
  it('just under the timeout the conversation goes on', () => {
    const d = upTo('age');
    d.now += 24 * 3600 * 1000 - 2000;
    d.text('16');
    expect(d.state?.answers.age).toBe(16);
  });
  it('idleTimeoutMs can be changed', () => {
    const d = new Driver(complete(), BUTTONS, { idleTimeoutMs: 60_000 });
    d.start();
    d.now += 61_000;
    expect(d.press('accept').replies[0]).toEqual({ type: 'text', text: fr.expired(1) });
  });
});

describe('version pinning', () => {
  const registry = FlowRegistry.load({ dir: `${FIXTURES}registry` });
  it('a state started on v1 is discarded with a friendly message when given the v2 flow', () => {
    const v1 = registry.get('youth-mini', 1) as Flow;
    const v2 = registry.latest('youth-mini') as Flow;
    expect(v2.version).toBe(2);
    const d = new Driver(v1);
    d.start();
    d.text('oui');
    expect(d.state?.v).toEqual([ENGINE_VERSION, 'youth-mini', 1]);
    const r = step(v2, d.state, {
      kind: 'text',
      now: d.now + 1000,
      text: 'mon histoire',
      capabilities: BUTTONS,
    });
    expect(r.replies[0]).toEqual({ type: 'text', text: frTu.discarded });
    expect(r.state?.v).toEqual([ENGINE_VERSION, 'youth-mini', 2]);
    expect(r.state?.answers).toEqual({});
  });
  it('the same state given its own version (from the archive) goes on', () => {
    const v1 = registry.get('youth-mini', 1) as Flow;
    const d = new Driver(v1);
    d.start();
    d.text('oui');
    const again = registry.get(d.state?.v[1] ?? '', d.state?.v[2] ?? 0) as Flow;
    const r = step(again, d.state, {
      kind: 'text',
      now: d.now + 1000,
      text: 'mon histoire',
      capabilities: BUTTONS,
    });
    expect(r.status).toBe('submitting');
    expect(r.effects[0]).toMatchObject({ flowVersion: 1, answers: { safety: true, story: 'mon histoire' } });
  });
  it('a state from another engine version or a broken state is discarded, never thrown on', () => {
    const d = new Driver(youthMini());
    d.start();
    const old = {
      ...(d.state as ConversationState),
      v: [ENGINE_VERSION + 1, 'youth-mini', 1],
    } as ConversationState;
    for (const bad of [
      old,
      { nonsense: true },
      'string',
      [],
      { ...(d.state as ConversationState), stepId: 'card' },
    ]) {
      const r = step(youthMini(), bad as unknown as ConversationState, {
        kind: 'text',
        now: d.now + 1,
        text: 'oui',
        capabilities: BUTTONS,
      });
      expect(r.replies[0]).toEqual({ type: 'text', text: frTu.discarded });
      expect(r.state?.stepId).toBe('safety');
    }
  });
});

describe('never throws', () => {
  it('a flow defect becomes an apology and a forgotten conversation', () => {
    const broken: Flow = { ...youthMini(), start: 'nowhere' };
    const r = step(broken, null, { kind: 'start', now: T0, capabilities: BUTTONS });
    expect(r).toEqual({
      state: null,
      replies: [{ type: 'text', text: frTu.technicalProblem }],
      effects: [{ type: 'forget' }],
      status: 'stopped',
    });
  });
  it('the start turn on a conversation in progress resumes it', () => {
    const d = upTo('age');
    const r = d.start();
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.resumed });
    expect(d.state?.stepId).toBe('age');
  });
  it('loads the fixture flows through the real loader', () => {
    expect(() => loadFlowFile(`${FIXTURES}complete.yaml`)).not.toThrow();
  });
});

describe('emergency words typed at a question', () => {
  it.each(['Aide-moi', 'aidez moi !', 'À l’aide', 'au secours…', 'SOS', 'urgence'])(
    '"%s" at a text step shows the card, stores nothing and asks the same question again',
    (word) => {
      const d = new Driver(youthMini());
      d.start();
      d.press('yes');
      expect(d.state?.stepId).toBe('story');
      const before = structuredClone(d.state?.answers);
      const r = d.text(word);
      const card = r.replies.find((x) => x.type === 'emergency');
      expect(card && card.type === 'emergency' && card.lines.map((l) => l.number)).toContain('119');
      expect(d.state?.stepId).toBe('story');
      expect(d.state?.answers).toEqual(before);
      expect(d.state?.answers).not.toHaveProperty('story');
      expect(d.state?.invalid).toBe(0);
      const last = r.replies.at(-1);
      expect(last && 'text' in last ? last.text : undefined).toBe('Raconte.');
    },
  );
  it('/aide shows the commands and then the emergency numbers', () => {
    const d = new Driver(youthMini());
    d.start();
    const r = d.text('/aide');
    expect(r.replies[0]).toEqual({ type: 'text', text: frTu.help });
    expect(r.replies[1]).toEqual({
      type: 'emergency',
      title: frTu.emergencyTitle,
      lines: frTu.emergencyLines,
      text: frTu.emergencyText,
    });
    expect(lastChoices(r)?.stepId).toBe('safety');
  });
});

describe('option info (a text shown right after an option is picked)', () => {
  const INFO_FLOW = `
id: info_test
version: 1
kind: youth
languages: [fr, en]
title: { fr: Essai, en: Test }
start: safety
steps:
  - id: safety
    type: choice
    text: { fr: En sécurité ?, en: Safe? }
    options:
      - id: safe
        label: { fr: Oui, en: "Yes" }
      - id: unsafe
        label: { fr: Non, en: "No" }
        emergency: true
        info: { fr: Appelle le 119 cette nuit., en: Call 119 tonight. }
    next: what
  - id: what
    type: multi_choice
    optional: true
    text: { fr: Quoi ?, en: What? }
    options:
      - id: a
        label: { fr: A, en: A }
        info: { fr: Info A., en: Info A. }
      - id: b
        label: { fr: B, en: B }
      - id: c
        label: { fr: C, en: C }
        info: { fr: Info C., en: Info C. }
    next: story
  - id: story
    type: text
    text: { fr: Raconte., en: Tell us. }
    next: bye
  - id: bye
    type: end
    text: { fr: Merci., en: Thanks. }
`;
  const parsed = parseFlowText(INFO_FLOW, 'info_test.yaml');
  const flow = parsed.value as Flow;
  const texts = (r: ReturnType<Driver['start']>) =>
    r.replies.map((x) => (x.type === 'emergency' ? '[card]' : 'text' in x ? x.text : `[${x.type}]`));

  it('is a valid flow field, checked like the other translated fields', () => {
    expect(checkFlow(parsed)).toEqual([]);
    const missing = parseFlowText(
      INFO_FLOW.replace('info: { fr: Info C., en: Info C. }', 'info: { fr: Info C. }'),
      'info_test.yaml',
    );
    expect(checkFlow(missing).map((d) => `${d.stepId}: ${d.message}`)).toEqual([
      'what: missing "en" translation of options[2].info',
    ]);
  });

  it('a choice shows its info after the emergency card and before the next question', () => {
    const d = new Driver(flow);
    d.start();
    expect(texts(d.press('unsafe'))).toEqual([
      '[card]',
      'Appelle le 119 cette nuit.',
      expect.stringContaining('Quoi ?'),
    ]);
    expect(d.state?.stepId).toBe('what');
  });

  it('an option without info shows nothing more', () => {
    const d = new Driver(flow);
    d.start();
    expect(texts(d.press('safe'))).toEqual([expect.stringContaining('Quoi ?')]);
  });

  it('in English, and when the option is typed rather than pressed', () => {
    const d = new Driver(flow, PLAIN);
    d.start('en');
    expect(texts(d.text('2'))).toEqual(['[card]', 'Call 119 tonight.', expect.stringContaining('What?')]);
  });

  it('a multiple choice shows nothing while toggling, then each picked info once, in option order', () => {
    const d = new Driver(flow);
    d.start();
    d.press('safe');
    expect(texts(d.press('c'))).toEqual([expect.stringContaining('Quoi ?')]);
    d.press('b');
    d.press('a');
    expect(texts(d.press('$done'))).toEqual(['Info A.', 'Info C.', 'Raconte.']);
    expect(d.state?.answers.what).toEqual(['a', 'b', 'c']);
  });

  it('typed numbers of a multiple choice show the infos too; skipping shows none', () => {
    const typed = new Driver(flow, PLAIN);
    typed.start();
    typed.text('1');
    expect(texts(typed.text('3, 2'))).toEqual(['Info C.', expect.stringContaining('Raconte.')]);
    const skipped = new Driver(flow);
    skipped.start();
    skipped.press('safe');
    expect(texts(skipped.press('$skip'))).toEqual(['Raconte.']);
  });
});

describe('text steps with a format (phone, e-mail, phone or e-mail, commune)', () => {
  const formats = (): Flow => loadFlowFile(`${FIXTURES}formats.yaml`);
  const enVous = stringsFor('en', 'professional');

  /** A driver standing on the phone-or-e-mail question, the role already answered. */
  function atCallback(flow = formats(), caps = BUTTONS): Driver {
    const d = new Driver(flow, caps);
    d.start();
    d.text('Infirmière scolaire');
    expect(d.state?.stepId).toBe('callback');
    return d;
  }

  it('recognises French and international phone numbers, and nothing else', () => {
    for (const ok of [
      '06 12 34 56 78',
      '06.12.34.56.78',
      '06-12-34-56-78',
      '0612345678',
      '01 23 45 67 89',
      '+33 6 12 34 56 78',
      '+33612345678',
      '+33 (0)6 12 34 56 78',
      '0033 6 12 34 56 78',
      '+44 20 7946 0958',
      '+1 (555) 010-0199',
      '+32 2 123 45 67',
    ]) {
      expect(isPhone(ok), ok).toBe(true);
    }
    for (const bad of [
      '2',
      '17',
      'Valider',
      'ok',
      'oui',
      '06 12 34 56',
      '06 12 34 56 78 9',
      '00 12 34 56 78',
      '+33 6 12 34 56',
      '+33 0 12 34 56 78',
      '1234567890',
      'O6 12 34 56 78',
      'tél. 06 12 34 56 78',
      '+1234567',
      '+1234567890123456',
      '',
    ]) {
      expect(isPhone(bad), bad).toBe(false);
    }
  });

  it('recognises an e-mail address shape', () => {
    for (const ok of [
      'prenom.nom@exemple.fr',
      'a.b+c@sous.domaine.gouv.fr',
      'infirmerie_college-93@ac-creteil.fr',
      'élodie@école.fr',
      ' coordination@example.org ',
    ]) {
      expect(isEmail(ok), ok).toBe(true);
    }
    for (const bad of [
      'nom@exemple',
      'nom@@exemple.fr',
      'nom exemple.fr',
      'nom @exemple.fr',
      '@exemple.fr',
      'nom@.fr',
      'nom..x@exemple.fr',
      'nom@exemple.f',
      'nom@-exemple.fr',
      'oui',
      '2',
      '',
    ]) {
      expect(isEmail(bad), bad).toBe(false);
    }
  });

  it('recognises the name of a commune: letters, accents, hyphens, apostrophes; never a button word', () => {
    for (const ok of [
      'Saint-Denis',
      "L'Île-Saint-Denis",
      'L’Île-Saint-Denis',
      'Épinay-sur-Seine',
      'Le Pré-Saint-Gervais',
      'aubervilliers',
      '93200 Saint-Denis',
      'Paris 18e',
      'Bobigny, Pantin',
      'St. Ouen',
    ]) {
      expect(isCommune(ok), ok).toBe(true);
    }
    for (const bad of [
      '2',
      '93',
      '93200',
      'a',
      'Valider',
      'ok',
      'OK !',
      'oui',
      'Oui.',
      'non',
      'Passer',
      'Je ne sais pas',
      "I don't know",
      'done',
      'x@y.fr',
      '06 12 34 56 78',
      'Saint-Denis; DROP',
      '',
    ]) {
      expect(isCommune(bad), bad).toBe(false);
    }
    expect(matchesFormat('phone_or_email', '06 12 34 56 78')).toBe(true);
    expect(matchesFormat('phone_or_email', 'nom@exemple.fr')).toBe(true);
    expect(matchesFormat('phone_or_email', 'Valider')).toBe(false);
  });

  it('re-prompts "2", "Valider", "ok" and "oui" with the expected shape, keeps earlier answers, offers /aide', () => {
    const d = atCallback();
    const results = ['2', 'Valider', 'ok', 'oui'].map((typed) => d.text(typed));
    for (const [i, r] of results.entries()) {
      expect(r.replies[0]).toEqual({
        type: 'text',
        text: i >= 2 ? `${fr.invalidPhoneOrEmail}\n\n${fr.offerHelp}` : fr.invalidPhoneOrEmail,
      });
      // The question is shown again, with its skip button (it is optional).
      expect(lastChoices(r)).toMatchObject({ stepId: 'callback', options: [{ id: '$skip' }] });
      expect(r.effects).toEqual([]);
      expect(r.status).toBe('awaiting-input');
    }
    expect(d.state?.stepId).toBe('callback');
    expect(d.state?.answers).toEqual({ role: 'Infirmière scolaire' });
    d.text('  06 12 34 56 78 ');
    expect(d.state?.stepId).toBe('phone');
    expect(d.state?.answers).toEqual({ role: 'Infirmière scolaire', callback: '06 12 34 56 78' });
    expect(d.state?.invalid).toBe(0);
  });

  it('says which shape each format expects, in French and English, vous and tu', () => {
    const d = atCallback();
    d.text('nom@exemple.fr');
    expect(d.text('Valider').replies[0]).toEqual({ type: 'text', text: fr.invalidPhone });
    d.text('+33 6 12 34 56 78');
    expect(d.text('2').replies[0]).toEqual({ type: 'text', text: fr.invalidEmail });
    d.text('nom@exemple.fr');
    expect(d.state?.stepId).toBe('commune');
    expect(d.text('93').replies[0]).toEqual({ type: 'text', text: fr.invalidCommune });
    expect(fr.invalidCommune).toMatch(/commune/);
    expect(fr.invalidPhone).toContain('06 12 34 56 78');
    expect(fr.invalidPhone).toMatch(/Indiquez/);
    expect(frTu.invalidPhone).toMatch(/Écris/);
    expect(frTu.invalidPhoneOrEmail).not.toMatch(/\b(vous|votre|indiquez)\b/i);

    const en = atCallback();
    en.text('/language en');
    expect(en.text('ok').replies[0]).toEqual({ type: 'text', text: enVous.invalidPhoneOrEmail });
    expect(enVous.invalidPhoneOrEmail).toMatch(/phone number or an email address/);

    const youth = atCallback({ ...formats(), kind: 'youth' });
    expect(youth.text('oui').replies[0]).toEqual({ type: 'text', text: frTu.invalidPhoneOrEmail });
  });

  it('skips an optional formatted question on a typed "Passer"; a required one asks again', () => {
    const d = atCallback();
    d.text('Passer');
    expect(d.state?.stepId).toBe('phone');
    expect(d.state?.skipped).toContain('callback');
    expect(d.state?.answers).toEqual({ role: 'Infirmière scolaire' });
    expect(d.text('passer').replies[0]).toEqual({ type: 'text', text: fr.invalidPhone });
    expect(d.state?.stepId).toBe('phone');
  });

  it('without buttons, re-prompts with the shape then the question and the /passer hint', () => {
    const d = atCallback(formats(), PLAIN);
    const r = d.text('1');
    expect(r.replies[0]).toEqual({ type: 'text', text: fr.invalidPhoneOrEmail });
    expect(r.replies[1]).toEqual({ type: 'text', text: `Téléphone ou e-mail ?\n\n${fr.skipHint}` });
  });

  it('keeps the commune as typed and gives it to the routing; a change from the summary is checked too', () => {
    const d = atCallback();
    d.text('/passer');
    d.text('0612345678');
    d.text('/passer');
    d.text(' Épinay-sur-Seine ');
    expect(d.state?.stepId).toBe('summary');
    d.press('$change');
    d.press('commune');
    expect(d.text('Valider').replies[0]).toEqual({ type: 'text', text: fr.invalidCommune });
    expect(d.state?.answers.commune).toBe('Épinay-sur-Seine');
    d.text("L'Île-Saint-Denis");
    expect(d.state?.stepId).toBe('summary');
    const r = d.press('$confirm');
    expect(r.effects[0]).toMatchObject({
      type: 'submit',
      routing: { commune: "L'Île-Saint-Denis" },
      answers: { role: 'Infirmière scolaire', phone: '0612345678', commune: "L'Île-Saint-Denis" },
    });
  });
});

describe('page_text (the flow in the web page: no chat history, visible controls)', () => {
  const youth = () => loadFlowFile(fileURLToPath(new URL('../../flows/youth.yaml', import.meta.url)));
  const pro = () => loadFlowFile(fileURLToPath(new URL('../../flows/professional.yaml', import.meta.url)));

  it("says the page's words in the page and the chat's words in a chat", () => {
    const page = new Driver(youth(), { ...BUTTONS, page: true });
    const inPage = shown(page.start('fr'));
    expect(inPage).toContain('Touche « Quitter »');
    expect(inPage).not.toMatch(/Telegram|\/effacer/);
    const chat = new Driver(youth(), BUTTONS);
    const inChat = shown(chat.start('fr'));
    expect(inChat).toContain('Tape /effacer');
    expect(inChat).not.toContain('Quitter');
  });

  it('every ending of both flows that names a command has page words without it', () => {
    for (const flow of [youth(), pro()]) {
      for (const s of flow.steps) {
        if ((s.type !== 'end' && s.type !== 'message') || !s.text) continue;
        for (const lang of flow.languages) {
          if (!/\/(suivi|followup|start|effacer|erase|urgence|emergency)\b|Telegram/.test(s.text[lang] ?? ''))
            continue;
          expect(s.page_text?.[lang], `${flow.id} ${s.id} [${lang}]`).toBeDefined();
          expect(s.page_text![lang]).not.toMatch(/\/[a-z]+\b|Telegram/);
        }
      }
    }
  });
});
