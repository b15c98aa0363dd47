/**
 * The conversation engine: a pure function `step(flow, state, turn)` returning the next state, the replies
 * to show and the effects the caller must carry out. No I/O, no clock (time comes from `turn.now`), no
 * randomness, no platform names (only `turn.capabilities`). It never throws: a stored state that does not
 * fit the flow is discarded with a friendly message, and an unexpected failure ends the conversation with
 * an apology rather than an exception.
 */
import { type Command, isEmergencyWord, normalize, parseCommand } from './commands.js';
import { evaluate, maxUrgency, resolveNext } from './conditions.js';
import { formatProblem, isSkipWord, matchesFormat } from './formats.js';
import { ENGINE_VERSION, isValidState, stepIndex } from './state.js';
import { type EngineStrings, stringsFor } from './strings.js';
import type {
  Answer,
  Capabilities,
  ChoiceOption,
  ConsentStep,
  ConversationState,
  EngineOptions,
  Flow,
  Lang,
  MultiChoiceStep,
  QuestionStep,
  Reply,
  ReplyOption,
  Status,
  Step,
  StepResult,
  SubmitStep,
  SummaryStep,
  Translated,
  Turn,
  Urgency,
} from './types.js';

/** Conversations idle longer than this are forgotten (24 hours). */
export const DEFAULT_IDLE_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** Built-in option ids. They start with `$`, which flow option ids cannot, so they never clash. */
export const BUILTIN = {
  skip: '$skip',
  done: '$done',
  confirm: '$confirm',
  change: '$change',
  restart: '$restart',
  cancel: '$cancel',
  retry: '$retry',
  yes: 'yes',
  no: 'no',
  accept: 'accept',
  decline: 'decline',
} as const;

/** The `stepId` of the language picker shown by `/langue` without argument. */
export const LANGUAGE_PICKER = '$lang';

/**
 * The `stepId` (and option id) of the "Effacer cette conversation" button shown at the end of a youth
 * conversation. It works like `/effacer` at any time, even once the conversation is over (no state).
 */
export const ERASE_BUTTON = '$erase';

/** Guard against `message` steps that loop on each other (the checker reports such cycles). */
const MAX_AUTOMATIC_STEPS = 200;
const MAX_SUMMARY_VALUE = 500;
const MAX_RECEIPT_LENGTH = 200;
const DEFAULT_TEXT_MAX = 2000;

const YES_WORDS = new Set(['oui', 'o', 'yes', 'y', 'ouais', 'yep', 'si', 'vrai', 'true']);
const NO_WORDS = new Set(['non', 'n', 'no', 'nan', 'nope', 'faux', 'false']);
const ACCEPT_WORDS = new Set([
  ...YES_WORDS,
  'ok',
  "d'accord",
  'daccord',
  "j'accepte",
  'accepte',
  'accept',
  'i agree',
]);
const DONE_WORDS = new Set(['valider', 'valide', 'done', 'ok', 'fini', 'termine', "c'est tout", 'finish']);
const RETRY_WORDS = new Set(['reessayer', 'retry', 'try again', 'ok', ...YES_WORDS]);
const TODAY_WORDS = new Set(["aujourd'hui", 'aujourdhui', 'auj', 'today']);
const YESTERDAY_WORDS = new Set(['hier', 'yesterday']);
const LANGUAGE_ARGS: Record<string, Lang> = {
  fr: 'fr',
  francais: 'fr',
  french: 'fr',
  en: 'en',
  english: 'en',
  anglais: 'en',
};

/** A flow that breaks the engine's assumptions (the checker should have caught it). Never escapes `step`. */
class FlowDefectError extends Error {
  override name = 'FlowDefectError';
}

interface Ctx {
  readonly flow: Flow;
  readonly steps: ReadonlyMap<string, Step>;
  readonly caps: Capabilities;
  readonly now: number;
  readonly replies: Reply[];
  readonly effects: StepResult['effects'];
  st: ConversationState;
  /** The state was created by this turn and nothing has been shown yet. */
  fresh: boolean;
  /** Set when the conversation ends in this turn: the returned state is `null`. */
  ended?: Status;
}

/**
 * Runs one turn of a conversation.
 *
 * @param flow the flow the conversation runs on (the exact version the state was started on, when any)
 * @param state the stored state, or `null` for a new conversation; a state that does not fit `flow` is
 *   discarded with a friendly message
 * @param turn what the user (or the caller, for `submitted`/`submit_failed`) just did
 * @returns the next state (`null`: delete the stored one), replies to show in order, effects to carry out
 *   in order (before persisting the state) and the conversation's status. Never throws.
 */
export function step(
  flow: Flow,
  state: ConversationState | null,
  turn: Turn,
  options: EngineOptions = {},
): StepResult {
  try {
    return run(flow, state, turn, options);
  } catch {
    // A defect in the flow or the engine: apologise and end cleanly rather than crash the caller.
    const lang = pickLang(flow, state, undefined, options.defaultLang);
    return {
      state: null,
      replies: [{ type: 'text', text: stringsFor(lang, flow.kind).technicalProblem }],
      effects: [{ type: 'forget' }],
      status: 'stopped',
    };
  }
}

function run(flow: Flow, stored: ConversationState | null, turn: Turn, options: EngineOptions): StepResult {
  const idle = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const steps = stepIndex(flow);
  let current: ConversationState | undefined;
  let notice: 'discarded' | 'expired' | undefined;
  if (stored !== null && stored !== undefined) {
    if (!isValidState(stored, flow)) notice = 'discarded';
    // A submission that completes after the idle delay must still give the user their receipt.
    else if (turn.kind !== 'submitted' && turn.now - stored.lastActiveAt > idle) notice = 'expired';
    else current = JSON.parse(JSON.stringify(stored)) as ConversationState;
  }
  const locale = turn.kind === 'start' || turn.kind === 'text' ? turn.locale : undefined;
  const ctx: Ctx = {
    flow,
    steps,
    caps: turn.capabilities ?? { buttons: false, deleteMessages: false },
    now: turn.now,
    replies: [],
    effects: [],
    st: current ?? newState(flow, pickLang(flow, stored, locale, options.defaultLang), turn.now),
    fresh: current === undefined,
  };
  if (notice === 'discarded') say(ctx, s(ctx).discarded);
  if (notice === 'expired') say(ctx, s(ctx).expired(Math.max(1, Math.round(idle / 3_600_000))));

  if (ctx.fresh && (turn.kind === 'submitted' || turn.kind === 'submit_failed')) {
    orphanSubmission(ctx, turn);
  } else {
    switch (turn.kind) {
      case 'start':
        onStart(ctx);
        break;
      case 'text':
        onText(ctx, turn.text);
        break;
      case 'choice':
        onChoice(ctx, turn.stepId, turn.optionId);
        break;
      case 'submitted':
        onSubmitted(ctx, turn.reference, turn.receipt);
        break;
      case 'submit_failed':
        onSubmitFailed(ctx, turn.reason);
        break;
    }
  }
  return finish(ctx);
}

function finish(ctx: Ctx): StepResult {
  if (ctx.ended) return { state: null, replies: ctx.replies, effects: ctx.effects, status: ctx.ended };
  if (ctx.fresh) {
    // Nothing was entered (e.g. /suivi as the very first message): there is nothing to keep.
    return { state: null, replies: ctx.replies, effects: ctx.effects, status: 'awaiting-input' };
  }
  ctx.st.lastActiveAt = ctx.now;
  return {
    state: ctx.st,
    replies: ctx.replies,
    effects: ctx.effects,
    status: ctx.st.mode === 'submitting' ? 'submitting' : 'awaiting-input',
  };
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function newState(flow: Flow, lang: Lang, now: number): ConversationState {
  return {
    v: [ENGINE_VERSION, flow.id, flow.version],
    lang,
    stepId: flow.start,
    answers: {},
    skipped: [],
    urgency: 'normal',
    invalid: 0,
    lastActiveAt: now,
  };
}

function pickLang(flow: Flow, old: unknown, locale: string | undefined, fallback: Lang | undefined): Lang {
  const available = flow.languages.length > 0 ? flow.languages : (['fr'] as Lang[]);
  const oldLang =
    typeof old === 'object' && old !== null && 'lang' in old ? (old as { lang: unknown }).lang : undefined;
  if (typeof oldLang === 'string' && available.includes(oldLang as Lang)) return oldLang as Lang;
  const fromLocale = locale?.toLowerCase().slice(0, 2);
  if (fromLocale && available.includes(fromLocale as Lang)) return fromLocale as Lang;
  if (fallback && available.includes(fallback)) return fallback;
  return available[0] ?? 'fr';
}

const s = (ctx: Ctx): EngineStrings => stringsFor(ctx.st.lang, ctx.flow.kind);

/** A translated text in the conversation's language, falling back to the flow's first language. */
function tr(ctx: Ctx, text: Translated | undefined): string {
  if (!text) return '';
  return text[ctx.st.lang] ?? text[ctx.flow.languages[0] ?? 'fr'] ?? Object.values(text)[0] ?? '';
}

function say(ctx: Ctx, text: string): void {
  if (text) ctx.replies.push({ type: 'text', text });
}

function getStep(ctx: Ctx, id: string | undefined): Step {
  const found = id === undefined ? undefined : ctx.steps.get(id);
  if (!found) throw new FlowDefectError(`no step "${id}"`);
  return found;
}

function isQuestion(step: Step): step is QuestionStep {
  return (
    step.type === 'choice' ||
    step.type === 'multi_choice' ||
    step.type === 'text' ||
    step.type === 'number' ||
    step.type === 'date' ||
    step.type === 'yes_no'
  );
}

function emergencyCard(ctx: Ctx): void {
  const t = s(ctx);
  ctx.replies.push({
    type: 'emergency',
    title: t.emergencyTitle,
    lines: t.emergencyLines.map((l) => ({ ...l })),
    text: t.emergencyText,
  });
}

/** A step's `page_text` in the web page when it has one, else its `text`. */
function pageText(ctx: Ctx, step: { text?: Translated; page_text?: Translated }): Translated | undefined {
  return ctx.caps.page && step.page_text ? step.page_text : step.text;
}

/**
 * The text of an `end` step. A young person's conversation ends with the quick-exit button under it when the
 * platform can delete messages: their phone may be read by someone else.
 */
function endStep(ctx: Ctx, text: string): void {
  if (ctx.flow.kind !== 'youth' || !ctx.caps.deleteMessages) {
    say(ctx, text);
    return;
  }
  ctx.replies.push({
    type: 'choices',
    stepId: ERASE_BUTTON,
    text: text || s(ctx).eraseOffer,
    multi: false,
    options: [{ id: ERASE_BUTTON, label: s(ctx).eraseButton }],
  });
}

function raise(ctx: Ctx, level: Urgency): void {
  const before = ctx.st.urgency;
  ctx.st.urgency = maxUrgency(before, level);
  if (ctx.st.urgency === 'immediate' && before !== 'immediate') ctx.effects.push({ type: 'mark_urgent' });
}

function end(ctx: Ctx, status: Status, effect: 'forget' | 'erase'): void {
  ctx.ended = status;
  ctx.effects.push({ type: effect });
}

// ---------------------------------------------------------------------------------------------------------
// Moving through the flow

/** Enters `id` and every following `message` step until a step that waits for the user. */
function enter(ctx: Ctx, id: string | undefined): void {
  ctx.fresh = false;
  let target = id;
  for (let hops = 0; hops < MAX_AUTOMATIC_STEPS; hops++) {
    const next = getStep(ctx, target);
    ctx.st.stepId = next.id;
    ctx.st.invalid = 0;
    delete ctx.st.mode;
    delete ctx.st.selection;
    switch (next.type) {
      case 'message':
        say(ctx, tr(ctx, pageText(ctx, next)));
        applyUrgencyRules(ctx, next);
        target = resolveNext(next.next, ctx.st.answers);
        continue;
      case 'end':
        endStep(ctx, tr(ctx, pageText(ctx, next)));
        end(ctx, 'completed', 'forget');
        return;
      case 'submit':
        say(ctx, next.text ? tr(ctx, next.text) : s(ctx).submitting);
        sendSubmit(ctx, next);
        return;
      case 'multi_choice': {
        const previous = ctx.st.answers[next.id];
        ctx.st.selection = Array.isArray(previous) ? [...previous] : [];
        render(ctx);
        return;
      }
      default:
        render(ctx);
        return;
    }
  }
  throw new FlowDefectError('too many automatic steps');
}

function applyUrgencyRules(ctx: Ctx, step: Step): void {
  if (!('urgency' in step) || !step.urgency) return;
  for (const rule of step.urgency) {
    // Conditions are evaluated on the answers as they are right after this step.
    if (evaluate(rule.if, ctx.st.answers)) raise(ctx, rule.level);
  }
}

interface Walk {
  /** Question and consent steps passed on the way, answered or skipped. */
  path: string[];
  stop?: string;
  reason: 'target' | 'missing' | 'terminal' | 'loop';
}

/**
 * Replays the flow from its start with the current answers, without showing anything: where does it stop
 * (the `target`, a step not answered yet, a submit/end, or a loop)? Used after an answer was changed from
 * the summary, and to send only the answers of the path actually taken.
 */
function walk(ctx: Ctx, target: string): Walk {
  const { answers, skipped } = ctx.st;
  const path: string[] = [];
  const seen = new Set<string>();
  let id: string | undefined = ctx.flow.start;
  while (id !== undefined) {
    if (seen.has(id)) return { path, reason: 'loop' };
    seen.add(id);
    const at = ctx.steps.get(id);
    if (!at) return { path, reason: 'loop' };
    if (id === target) return { path, stop: id, reason: 'target' };
    if (at.type === 'end' || at.type === 'submit') return { path, stop: id, reason: 'terminal' };
    if (at.type === 'consent' || isQuestion(at)) {
      const done =
        at.type === 'consent' ? answers[id] === true : answers[id] !== undefined || skipped.includes(id);
      if (!done) return { path, stop: id, reason: 'missing' };
      path.push(id);
    }
    id = resolveNext(at.next, answers);
  }
  return { path, reason: 'loop' };
}

/** After a valid answer (or a skip): urgency, then the next step, or back towards the summary. */
function afterAnswer(ctx: Ctx, answered: QuestionStep | ConsentStep): void {
  applyUrgencyRules(ctx, answered);
  const returnTo = ctx.st.returnTo;
  if (returnTo) {
    const w = walk(ctx, returnTo);
    if (w.reason === 'target') {
      delete ctx.st.returnTo;
      enter(ctx, returnTo);
      return;
    }
    if (w.reason === 'missing' && w.stop) {
      // The change opened a branch with new questions: ask them, then come back to the summary.
      enter(ctx, w.stop);
      return;
    }
    delete ctx.st.returnTo;
  }
  const next = resolveNext(answered.next, ctx.st.answers);
  if (next === undefined) throw new FlowDefectError(`no branch of "${answered.id}" holds`);
  enter(ctx, next);
}

function setAnswer(ctx: Ctx, step: QuestionStep | ConsentStep, value: Answer): void {
  ctx.st.answers[step.id] = value;
  ctx.st.skipped = ctx.st.skipped.filter((id) => id !== step.id);
  afterAnswer(ctx, step);
}

function skip(ctx: Ctx, step: QuestionStep): void {
  delete ctx.st.answers[step.id];
  if (!ctx.st.skipped.includes(step.id)) ctx.st.skipped.push(step.id);
  afterAnswer(ctx, step);
}

function restart(ctx: Ctx): void {
  ctx.st.answers = {};
  ctx.st.skipped = [];
  // A restart is a new conversation: its urgency starts again from the answers it will get.
  ctx.st.urgency = 'normal';
  delete ctx.st.returnTo;
  say(ctx, s(ctx).restarted);
  enter(ctx, ctx.flow.start);
}

// ---------------------------------------------------------------------------------------------------------
// Rendering the current prompt

interface Prompt {
  stepId: string;
  text: string;
  multi: boolean;
  /** Every option, in display order (buttons). */
  options: ReplyOption[];
  /** How many of the first options are numbered in the text (and can be picked by number). */
  numbered: number;
  hint?: string;
  /** No options at all: a plain text question. */
  plain: boolean;
}

function promptId(st: ConversationState): string {
  return st.mode === 'change' ? `${st.stepId}:change` : st.stepId;
}

function optionList(ctx: Ctx, options: ChoiceOption[], selection?: string[]): ReplyOption[] {
  return options.map((o) =>
    selection
      ? { id: o.id, label: tr(ctx, o.label), selected: selection.includes(o.id) }
      : { id: o.id, label: tr(ctx, o.label) },
  );
}

function summaryLabel(ctx: Ctx, step: Step): string {
  if ('summary_label' in step && step.summary_label) return tr(ctx, step.summary_label);
  return 'text' in step ? tr(ctx, step.text) : step.id;
}

/** The answered (or skipped) steps shown by a summary, in flow order. */
function summaryItems(ctx: Ctx, summary: SummaryStep): { stepId: string; label: string; value: string }[] {
  const onPath = new Set(walk(ctx, summary.id).path);
  return ctx.flow.steps
    .filter((st) => onPath.has(st.id))
    .map((st) => ({
      stepId: st.id,
      label: summaryLabel(ctx, st),
      value: formatAnswer(ctx, st, ctx.st.answers[st.id]),
    }));
}

function formatAnswer(ctx: Ctx, step: Step, value: Answer | undefined): string {
  const t = s(ctx);
  if (value === undefined) return '—';
  const label = (id: string) => {
    const opt = 'options' in step ? step.options.find((o) => o.id === id) : undefined;
    return opt ? tr(ctx, opt.label) : id;
  };
  let out: string;
  if (step.type === 'consent') out = t.accepted;
  else if (typeof value === 'boolean') out = value ? t.yes : t.no;
  else if (Array.isArray(value)) out = value.length ? value.map(label).join(', ') : t.none;
  else if (step.type === 'choice' && typeof value === 'string') out = label(value);
  else if (step.type === 'date' && typeof value === 'string') out = value.split('-').reverse().join('/');
  else out = String(value);
  return out.length > MAX_SUMMARY_VALUE ? `${out.slice(0, MAX_SUMMARY_VALUE - 1)}…` : out;
}

function currentPrompt(ctx: Ctx): Prompt {
  const t = s(ctx);
  const st = ctx.st;
  const at = getStep(ctx, st.stepId);
  const skipOption = (step: Step): ReplyOption[] =>
    isQuestion(step) && step.optional ? [{ id: BUILTIN.skip, label: t.skip }] : [];
  const base = { stepId: promptId(st), multi: false, plain: false };
  switch (at.type) {
    case 'choice': {
      const options = [...optionList(ctx, at.options), ...skipOption(at)];
      return { ...base, text: tr(ctx, at.text), options, numbered: options.length, hint: t.numberedHint };
    }
    case 'multi_choice':
      return {
        ...base,
        multi: true,
        text: tr(ctx, at.text),
        options: [
          ...optionList(ctx, at.options, st.selection ?? []),
          { id: BUILTIN.done, label: t.done },
          ...skipOption(at),
        ],
        numbered: at.options.length,
        hint: ctx.caps.buttons
          ? t.multiHint
          : `${t.multiHintNoButtons}${at.optional ? `\n${t.skipHint}` : ''}`,
      };
    case 'yes_no': {
      const options = [{ id: BUILTIN.yes, label: t.yes }, { id: BUILTIN.no, label: t.no }, ...skipOption(at)];
      return { ...base, text: tr(ctx, at.text), options, numbered: options.length, hint: t.numberedHint };
    }
    case 'consent': {
      const options = [
        { id: BUILTIN.accept, label: tr(ctx, at.accept) },
        { id: BUILTIN.decline, label: tr(ctx, at.decline) },
      ];
      return { ...base, text: tr(ctx, at.text), options, numbered: 2, hint: t.numberedHint };
    }
    case 'summary': {
      if (st.mode === 'change') {
        const options = [
          ...summaryItems(ctx, at).map((i) => ({ id: i.stepId, label: i.label })),
          { id: BUILTIN.cancel, label: t.cancel },
        ];
        return { ...base, text: t.changeQuestion, options, numbered: options.length, hint: t.numberedHint };
      }
      const hasItems = summaryItems(ctx, at).length > 0;
      const options = [
        { id: BUILTIN.confirm, label: t.confirm },
        ...(hasItems ? [{ id: BUILTIN.change, label: t.change }] : []),
        { id: BUILTIN.restart, label: t.restart },
      ];
      return { ...base, text: t.summaryQuestion, options, numbered: options.length, hint: t.numberedHint };
    }
    case 'submit': {
      const options = st.mode === 'submit_failed' ? [{ id: BUILTIN.retry, label: t.retry }] : [];
      return {
        ...base,
        text: st.mode === 'submit_failed' ? t.retryQuestion : t.submitWait,
        options,
        numbered: options.length,
      };
    }
    case 'text':
    case 'number':
    case 'date': {
      const options = skipOption(at);
      const hints = [at.type === 'date' ? t.dateHint : '', at.optional && !ctx.caps.buttons ? t.skipHint : '']
        .filter(Boolean)
        .join('\n');
      return {
        ...base,
        text: tr(ctx, at.text),
        options,
        numbered: 0,
        plain: true,
        ...(hints ? { hint: hints } : {}),
      };
    }
    default:
      throw new FlowDefectError(`cannot wait on a ${at.type} step`);
  }
}

/** Shows the current step again (after a command, an invalid answer, a stale button...). */
function render(ctx: Ctx): void {
  if (ctx.fresh) {
    enter(ctx, ctx.flow.start);
    return;
  }
  const at = getStep(ctx, ctx.st.stepId);
  if (at.type === 'summary' && ctx.st.mode !== 'change') {
    ctx.replies.push({
      type: 'summary',
      title: tr(ctx, at.text) || s(ctx).summaryTitle,
      items: summaryItems(ctx, at),
    });
  }
  const p = currentPrompt(ctx);
  if (p.plain && (p.options.length === 0 || !ctx.caps.buttons)) {
    say(ctx, p.hint ? `${p.text}\n\n${p.hint}` : p.text);
    return;
  }
  let text = p.text;
  if (!ctx.caps.buttons && p.numbered > 0) {
    const lines = p.options
      .slice(0, p.numbered)
      .map((o, i) => `${i + 1}. ${o.label}${o.selected ? ' ✓' : ''}`);
    text = `${text}\n\n${lines.join('\n')}${p.hint ? `\n\n${p.hint}` : ''}`;
  } else if (p.multi && p.hint) {
    text = `${text}\n\n${p.hint}`;
  } else if (p.plain && p.hint) {
    text = `${text}\n\n${p.hint}`;
  }
  if (p.options.length === 0) {
    say(ctx, text);
    return;
  }
  ctx.replies.push({ type: 'choices', stepId: p.stepId, text, multi: p.multi, options: p.options });
}

/** An answer that does not fit: say what is expected, show the question again, offer /aide after 3. */
function invalid(ctx: Ctx, reason: string): void {
  ctx.st.invalid += 1;
  say(ctx, ctx.st.invalid >= 3 ? `${reason}\n\n${s(ctx).offerHelp}` : reason);
  render(ctx);
}

// ---------------------------------------------------------------------------------------------------------
// Turns

function onStart(ctx: Ctx): void {
  if (!ctx.fresh) say(ctx, s(ctx).resumed);
  render(ctx);
}

function onText(ctx: Ctx, raw: string): void {
  const text = typeof raw === 'string' ? raw : '';
  const command = parseCommand(text);
  if (command === null) {
    say(ctx, s(ctx).unknownCommand);
    render(ctx);
    return;
  }
  if (command) {
    onCommand(ctx, command);
    return;
  }
  if (isEmergencyWord(text)) {
    emergencyCard(ctx);
    render(ctx);
    return;
  }
  if (ctx.fresh) {
    // The first message of a conversation opens it; it is not an answer to a question not yet asked.
    render(ctx);
    return;
  }
  answerText(ctx, text);
}

function onCommand(ctx: Ctx, command: Command): void {
  const t = s(ctx);
  switch (command.name) {
    case 'help': {
      const at = ctx.fresh ? undefined : ctx.steps.get(ctx.st.stepId);
      say(ctx, at && isQuestion(at) && at.optional ? `${t.help}\n${t.helpSkip}` : t.help);
      // Whoever asks for help may be in danger: the numbers come with the commands.
      emergencyCard(ctx);
      render(ctx);
      return;
    }
    case 'emergency':
      emergencyCard(ctx);
      render(ctx);
      return;
    case 'erase':
      say(ctx, t.erased(ctx.caps.deleteMessages));
      end(ctx, 'erased', 'erase');
      return;
    case 'stop':
      say(ctx, t.stopped);
      end(ctx, 'stopped', 'forget');
      return;
    case 'restart':
      if (ctx.st.mode === 'submitting') {
        say(ctx, t.submitWait);
        return;
      }
      if (ctx.fresh) render(ctx);
      else restart(ctx);
      return;
    case 'start':
      onStart(ctx);
      return;
    case 'language':
      onLanguage(ctx, command.arg);
      return;
    case 'followUp': {
      const receipt = command.arg?.replace(/\s+/g, '');
      if (!receipt || receipt.length > MAX_RECEIPT_LENGTH) {
        say(ctx, t.followUpUsage);
        if (!ctx.fresh) render(ctx);
        return;
      }
      // The caller opens the replies and answers itself; the conversation in progress stays where it is.
      ctx.effects.push({ type: 'follow_up', receipt });
      return;
    }
    case 'skip': {
      if (ctx.fresh) {
        render(ctx);
        return;
      }
      const at = getStep(ctx, ctx.st.stepId);
      if (isQuestion(at) && at.optional && ctx.st.mode === undefined) {
        skip(ctx, at);
        return;
      }
      say(ctx, t.cannotSkip);
      render(ctx);
      return;
    }
  }
}

function onLanguage(ctx: Ctx, arg: string | undefined): void {
  const t = s(ctx);
  if (!arg) {
    const options = ctx.flow.languages.map((l) => ({ id: l, label: t.languageNames[l] }));
    const text = ctx.caps.buttons
      ? t.languageQuestion
      : `${t.languageQuestion}\n\n${t.languageHintNoButtons}`;
    ctx.replies.push({ type: 'choices', stepId: LANGUAGE_PICKER, text, multi: false, options });
    return;
  }
  setLanguage(ctx, LANGUAGE_ARGS[normalize(arg)]);
}

function setLanguage(ctx: Ctx, lang: Lang | undefined): void {
  if (!lang || !ctx.flow.languages.includes(lang)) {
    say(ctx, s(ctx).languageUnavailable(ctx.flow.languages.join(', ')));
    render(ctx);
    return;
  }
  ctx.st.lang = lang;
  say(ctx, s(ctx).languageChanged);
  render(ctx);
}

function onChoice(ctx: Ctx, stepId: string, optionId: string): void {
  if (stepId === ERASE_BUTTON && optionId === ERASE_BUTTON) {
    // The quick-exit button of an ended conversation: the same as /effacer, with or without a state.
    onCommand(ctx, { name: 'erase' });
    return;
  }
  if (stepId === LANGUAGE_PICKER) {
    setLanguage(
      ctx,
      ctx.flow.languages.find((l) => l === optionId),
    );
    return;
  }
  if (ctx.fresh) {
    render(ctx);
    return;
  }
  const stale = () => {
    say(ctx, s(ctx).staleButton);
    render(ctx);
  };
  if (stepId !== promptId(ctx.st)) {
    if (ctx.st.mode === 'submitting') say(ctx, s(ctx).submitWait);
    else stale();
    return;
  }
  const p = currentPrompt(ctx);
  if (!p.options.some((o) => o.id === optionId)) {
    stale();
    return;
  }
  pick(ctx, optionId, true);
}

/** A text answer to the current step. */
function answerText(ctx: Ctx, text: string): void {
  const t = s(ctx);
  const at = getStep(ctx, ctx.st.stepId);
  if (ctx.st.mode === 'submitting') {
    say(ctx, t.submitWait);
    return;
  }
  const p = currentPrompt(ctx);
  const n = normalize(text).replace(/[.!?]+$/, '');
  switch (at.type) {
    case 'text': {
      // Control characters (ANSI/OSC escapes) could act on a coordinator's terminal or be hidden in the UI:
      // keep line breaks and tabs, drop the rest.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to remove them
      const value = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').trim();
      const length = [...value].length;
      const min = at.min_length ?? 1;
      const max = at.max_length ?? DEFAULT_TEXT_MAX;
      if (length < min) {
        invalid(ctx, t.invalidTextShort(min));
        return;
      }
      if (at.format && !matchesFormat(at.format, value)) {
        // "Passer" typed on an optional phone/e-mail/commune question cannot be an answer: it skips.
        if (at.optional && isSkipWord(n)) skip(ctx, at);
        else invalid(ctx, formatProblem(t, at.format));
        return;
      }
      if (length > max) {
        invalid(ctx, t.invalidTextLong(max, length));
        return;
      }
      setAnswer(ctx, at, value);
      return;
    }
    case 'number': {
      const m = /^([-+]?\d{1,12})(?:\s*[a-z]+)?$/.exec(n);
      const value = m ? Number(m[1]) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < at.min || value > at.max) {
        invalid(ctx, t.invalidNumber(at.min, at.max));
        return;
      }
      setAnswer(ctx, at, value);
      return;
    }
    case 'date': {
      const parsed = parseDate(n, ctx.now);
      if (!parsed) {
        invalid(ctx, t.invalidDate);
        return;
      }
      if (at.not_future && parsed > parisDay(ctx.now, 0)) {
        invalid(ctx, t.invalidDateFuture);
        return;
      }
      setAnswer(ctx, at, parsed);
      return;
    }
    case 'yes_no': {
      if (YES_WORDS.has(n)) {
        pick(ctx, BUILTIN.yes, false);
        return;
      }
      if (NO_WORDS.has(n)) {
        pick(ctx, BUILTIN.no, false);
        return;
      }
      const found = matchOption(n, p);
      if (found) {
        pick(ctx, found, false);
        return;
      }
      invalid(ctx, t.invalidYesNo);
      return;
    }
    case 'consent': {
      const found = matchOption(n, p);
      if (found) {
        pick(ctx, found, false);
        return;
      }
      if (ACCEPT_WORDS.has(n)) {
        pick(ctx, BUILTIN.accept, false);
        return;
      }
      if (NO_WORDS.has(n) || n === 'refuse' || n === 'je refuse' || n === 'decline') {
        pick(ctx, BUILTIN.decline, false);
        return;
      }
      invalid(ctx, t.invalidConsent(tr(ctx, at.accept), tr(ctx, at.decline)));
      return;
    }
    case 'multi_choice':
      answerMultiText(ctx, at, n, p);
      return;
    case 'choice': {
      const found = matchOption(n, p);
      if (found) {
        pick(ctx, found, false);
        return;
      }
      invalid(ctx, t.invalidChoice(p.numbered));
      return;
    }
    case 'summary': {
      const found = matchOption(n, p);
      if (found) {
        pick(ctx, found, false);
        return;
      }
      if (
        ctx.st.mode !== 'change' &&
        (YES_WORDS.has(n) || DONE_WORDS.has(n) || n === 'confirmer' || n === 'envoyer')
      ) {
        pick(ctx, BUILTIN.confirm, false);
        return;
      }
      invalid(ctx, ctx.st.mode === 'change' ? t.invalidChoice(p.numbered) : t.invalidSummary);
      return;
    }
    case 'submit': {
      if (RETRY_WORDS.has(n) || matchOption(n, p)) {
        pick(ctx, BUILTIN.retry, false);
        return;
      }
      invalid(ctx, t.invalidRetry);
      return;
    }
    default:
      render(ctx);
      return;
  }
}

/** Finds the option a typed answer means: its number, its label, its id, or a unique part of a label. */
function matchOption(n: string, p: Prompt): string | undefined {
  if (/^\d+$/.test(n)) {
    const index = Number(n) - 1;
    return index >= 0 && index < p.numbered ? p.options[index]?.id : undefined;
  }
  const exact = p.options.find((o) => normalize(o.label) === n || o.id === n);
  if (exact) return exact.id;
  if (n.length < 3) return undefined;
  const partial = p.options.filter((o) => normalize(o.label).includes(n));
  return partial.length === 1 ? partial[0]?.id : undefined;
}

function answerMultiText(ctx: Ctx, step: MultiChoiceStep, n: string, p: Prompt): void {
  const t = s(ctx);
  if (DONE_WORDS.has(n)) {
    pick(ctx, BUILTIN.done, false);
    return;
  }
  const whole = matchOption(n, { ...p, numbered: step.options.length });
  if (whole && !whole.startsWith('$')) {
    validateMulti(ctx, step, [whole]);
    return;
  }
  if (whole) {
    pick(ctx, whole, false);
    return;
  }
  const tokens = n.split(/\s*(?:[,;/+]|\set\s|\sand\s)\s*|\s+/).filter(Boolean);
  const ids: string[] = [];
  for (const token of tokens) {
    const index = /^\d+$/.test(token) ? Number(token) - 1 : -1;
    const byNumber = index >= 0 ? step.options[index]?.id : undefined;
    const id =
      byNumber ?? step.options.find((o) => o.id === token || normalize(tr(ctx, o.label)) === token)?.id;
    if (!id) {
      invalid(ctx, t.invalidMultiUnknown(step.options.length));
      return;
    }
    ids.push(id);
  }
  if (ids.length === 0) {
    invalid(ctx, t.invalidMultiUnknown(step.options.length));
    return;
  }
  validateMulti(ctx, step, ids);
}

/** Checks the count of a multiple choice, then answers with the ids in option order. */
function validateMulti(ctx: Ctx, step: MultiChoiceStep, ids: string[]): void {
  const t = s(ctx);
  const chosen = step.options.filter((o) => ids.includes(o.id));
  const min = step.min ?? (step.optional ? 0 : 1);
  const max = step.max ?? step.options.length;
  if (chosen.length < min) {
    ctx.st.selection = chosen.map((o) => o.id);
    invalid(ctx, t.invalidMultiMin(min));
    return;
  }
  if (chosen.length > max) {
    ctx.st.selection = chosen.map((o) => o.id);
    invalid(ctx, t.invalidMultiMax(max));
    return;
  }
  for (const o of chosen) if (o.urgency) raise(ctx, o.urgency);
  if (chosen.some((o) => o.emergency)) emergencyCard(ctx);
  showInfo(ctx, chosen);
  setAnswer(
    ctx,
    step,
    chosen.map((o) => o.id),
  );
}

/** The `info` texts of the options just picked, in option order, before the next question. */
function showInfo(ctx: Ctx, picked: ChoiceOption[]): void {
  for (const o of picked) if (o.info) say(ctx, tr(ctx, o.info));
}

/** Applies an option of the current prompt, whether pressed (`button`) or typed. */
function pick(ctx: Ctx, optionId: string, button: boolean): void {
  const at = getStep(ctx, ctx.st.stepId);
  if (optionId === BUILTIN.skip && isQuestion(at) && at.optional) {
    skip(ctx, at);
    return;
  }
  switch (at.type) {
    case 'choice': {
      const option = at.options.find((o) => o.id === optionId);
      if (!option) {
        render(ctx);
        return;
      }
      if (option.urgency) raise(ctx, option.urgency);
      if (option.emergency) emergencyCard(ctx);
      showInfo(ctx, [option]);
      setAnswer(ctx, at, option.id);
      return;
    }
    case 'multi_choice': {
      if (optionId === BUILTIN.done) {
        validateMulti(ctx, at, ctx.st.selection ?? []);
        return;
      }
      if (!at.options.some((o) => o.id === optionId)) {
        render(ctx);
        return;
      }
      const current = new Set(ctx.st.selection ?? []);
      if (current.has(optionId)) current.delete(optionId);
      else current.add(optionId);
      ctx.st.selection = at.options.filter((o) => current.has(o.id)).map((o) => o.id);
      // A toggle is not an answer yet: show the updated selection.
      if (button) ctx.st.invalid = 0;
      render(ctx);
      return;
    }
    case 'yes_no':
      if (optionId === BUILTIN.yes) {
        setAnswer(ctx, at, true);
        return;
      }
      if (optionId === BUILTIN.no) {
        setAnswer(ctx, at, false);
        return;
      }
      render(ctx);
      return;
    case 'consent':
      if (optionId === BUILTIN.accept) {
        setAnswer(ctx, at, true);
        return;
      }
      if (optionId === BUILTIN.decline) {
        delete ctx.st.answers[at.id];
        delete ctx.st.returnTo;
        enter(ctx, at.decline_goto);
        return;
      }
      render(ctx);
      return;
    case 'summary':
      pickSummary(ctx, at, optionId);
      return;
    case 'submit':
      if (optionId === BUILTIN.retry && ctx.st.mode === 'submit_failed') {
        say(ctx, s(ctx).submitting);
        sendSubmit(ctx, at);
        return;
      }
      render(ctx);
      return;
    default:
      render(ctx);
      return;
  }
}

function pickSummary(ctx: Ctx, summary: SummaryStep, optionId: string): void {
  if (ctx.st.mode === 'change') {
    delete ctx.st.mode;
    if (optionId === BUILTIN.cancel) {
      render(ctx);
      return;
    }
    const target = ctx.steps.get(optionId);
    if (!target || !(isQuestion(target) || target.type === 'consent')) {
      render(ctx);
      return;
    }
    ctx.st.returnTo = summary.id;
    enter(ctx, target.id);
    return;
  }
  switch (optionId) {
    case BUILTIN.confirm: {
      const next = resolveNext(summary.next, ctx.st.answers);
      if (next === undefined) throw new FlowDefectError(`no branch of "${summary.id}" holds`);
      enter(ctx, next);
      return;
    }
    case BUILTIN.change:
      ctx.st.mode = 'change';
      ctx.st.invalid = 0;
      render(ctx);
      return;
    case BUILTIN.restart:
      restart(ctx);
      return;
    default:
      render(ctx);
      return;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Submission

function sendSubmit(ctx: Ctx, at: SubmitStep): void {
  const w = walk(ctx, at.id);
  // Only the answers of the path actually taken: answers left over from a branch abandoned after a change
  // in the summary are not sent.
  const ids = w.reason === 'target' ? w.path : Object.keys(ctx.st.answers);
  const answers: Record<string, Answer> = {};
  const routing: Record<string, unknown> = {};
  for (const id of ids) {
    const value = ctx.st.answers[id];
    if (value === undefined) continue;
    answers[id] = Array.isArray(value) ? [...value] : value;
    const from = ctx.steps.get(id);
    if (from && 'routing' in from && from.routing) routing[from.routing] = answers[id];
  }
  ctx.st.mode = 'submitting';
  ctx.effects.push({
    type: 'submit',
    flowId: ctx.flow.id,
    flowVersion: ctx.flow.version,
    kind: ctx.flow.kind,
    lang: ctx.st.lang,
    answers,
    urgency: ctx.st.urgency,
    routing,
    receipt: at.receipt !== false,
    notify: at.notify_if ? evaluate(at.notify_if, answers) : false,
  });
}

function onSubmitted(ctx: Ctx, reference: string, receipt: string | undefined): void {
  const at = getStep(ctx, ctx.st.stepId);
  ctx.replies.push(receiptReply(ctx, reference, receipt));
  if (at.type !== 'submit' || ctx.st.mode !== 'submitting') return;
  const next = resolveNext(at.next, ctx.st.answers);
  if (next === undefined) throw new FlowDefectError(`no branch of "${at.id}" holds`);
  enter(ctx, next);
}

function receiptReply(ctx: Ctx, reference: string, receipt: string | undefined): Reply {
  const text = s(ctx).receiptText(Boolean(receipt));
  return receipt ? { type: 'receipt', reference, receipt, text } : { type: 'receipt', reference, text };
}

function onSubmitFailed(ctx: Ctx, reason: 'no_recipient' | 'unavailable'): void {
  const at = getStep(ctx, ctx.st.stepId);
  if (at.type !== 'submit' || ctx.st.mode !== 'submitting') return;
  ctx.st.mode = 'submit_failed';
  say(ctx, s(ctx).submitFailed(reason));
  render(ctx);
}

/** A submission result arrives but the conversation is gone (erased, stopped, unreadable). */
function orphanSubmission(ctx: Ctx, turn: Extract<Turn, { kind: 'submitted' | 'submit_failed' }>): void {
  if (turn.kind === 'submitted') {
    // The report exists: the user must still get its reference and receipt.
    ctx.replies.push(receiptReply(ctx, turn.reference, turn.receipt));
    end(ctx, 'completed', 'forget');
    return;
  }
  say(ctx, s(ctx).technicalProblem);
  end(ctx, 'stopped', 'forget');
}

// ---------------------------------------------------------------------------------------------------------
// Dates (Europe/Paris calendar days, from turn.now)

const PARIS = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Paris',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

function iso(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** The Europe/Paris calendar day of `now`, shifted by `offset` days, as `YYYY-MM-DD`. */
export function parisDay(now: number, offset: number): string {
  const parts = PARIS.formatToParts(new Date(now));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const utc = new Date(Date.UTC(get('year'), get('month') - 1, get('day') + offset));
  return iso(utc.getUTCFullYear(), utc.getUTCMonth() + 1, utc.getUTCDate());
}

/**
 * Parses `jj/mm/aaaa`, `j/m/aaaa`, `jj/mm/aa` (also with `-`, `.` or spaces), `aaaa-mm-jj`,
 * `aujourd'hui`/`today`, `hier`/`yesterday`. Input is already normalised. Returns `YYYY-MM-DD` or undefined.
 */
export function parseDate(n: string, now: number): string | undefined {
  if (TODAY_WORDS.has(n)) return parisDay(now, 0);
  if (YESTERDAY_WORDS.has(n)) return parisDay(now, -1);
  let y: number;
  let m: number;
  let d: number;
  const isoMatch = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(n);
  const frMatch = /^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{2}|\d{4})$/.exec(n);
  if (isoMatch) {
    [y, m, d] = [Number(isoMatch[1]), Number(isoMatch[2]), Number(isoMatch[3])];
  } else if (frMatch) {
    [d, m, y] = [Number(frMatch[1]), Number(frMatch[2]), Number(frMatch[3])];
    if (frMatch[3]?.length === 2) {
      const thisYear = Number(parisDay(now, 0).slice(0, 4));
      y = 2000 + y <= thisYear ? 2000 + y : 1900 + y;
    }
  } else {
    return undefined;
  }
  if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31) return undefined;
  const check = new Date(Date.UTC(y, m - 1, d));
  if (check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return undefined;
  return iso(y, m, d);
}
