/**
 * The shape of a stored conversation state and its validator. A state read back from storage is untrusted
 * (older engine, older flow version, corrupted row): the engine checks it with {@link isValidState} and
 * discards it with a friendly message when it does not fit, instead of failing.
 */
import type { Answer, ConversationState, Flow, Step } from './types.js';

/** Bumped when the shape or the meaning of {@link ConversationState} changes. */
export const ENGINE_VERSION = 1;

const LANGS = new Set(['fr', 'en']);
const URGENCIES = new Set(['normal', 'high', 'immediate']);
const MODES = new Set(['change', 'submitting', 'submit_failed']);
const KEYS = new Set([
  'v',
  'lang',
  'stepId',
  'answers',
  'skipped',
  'urgency',
  'invalid',
  'lastActiveAt',
  'selection',
  'mode',
  'returnTo',
]);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');

function isAnswer(v: unknown): v is Answer {
  return (
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v)) ||
    isStringArray(v)
  );
}

/** Whether `value` fits the answer shape of `step` (an option id, a boolean, an ISO date...). */
function fitsStep(step: Step, value: Answer): boolean {
  switch (step.type) {
    case 'choice':
      return typeof value === 'string' && step.options.some((o) => o.id === value);
    case 'multi_choice':
      return (
        Array.isArray(value) &&
        new Set(value).size === value.length &&
        value.every((id) => step.options.some((o) => o.id === id))
      );
    case 'yes_no':
      return typeof value === 'boolean';
    case 'consent':
      return value === true;
    case 'number':
      return typeof value === 'number' && Number.isInteger(value) && value >= step.min && value <= step.max;
    case 'date':
      return typeof value === 'string' && ISO_DATE.test(value);
    case 'text':
      return typeof value === 'string';
    default:
      return false;
  }
}

/** Steps at which a conversation can wait for the user. */
const WAITING = new Set([
  'choice',
  'multi_choice',
  'text',
  'number',
  'date',
  'yes_no',
  'consent',
  'summary',
  'submit',
]);

/**
 * Whether `value` is a well-formed conversation state. With `flow`, also whether it belongs to this engine
 * version and to this exact flow version, waits on an existing step, and every answer fits its step.
 */
export function isValidState(value: unknown, flow?: Flow): value is ConversationState {
  if (!isRecord(value)) return false;
  if (Object.keys(value).some((k) => !KEYS.has(k))) return false;
  const { v, lang, stepId, answers, skipped, urgency, invalid, lastActiveAt, selection, mode, returnTo } =
    value;
  if (!Array.isArray(v) || v.length !== 3) return false;
  if (typeof v[0] !== 'number' || typeof v[1] !== 'string' || !Number.isInteger(v[2])) return false;
  if (typeof lang !== 'string' || !LANGS.has(lang)) return false;
  if (typeof stepId !== 'string') return false;
  if (!isRecord(answers) || !Object.values(answers).every(isAnswer)) return false;
  if (!isStringArray(skipped)) return false;
  if (typeof urgency !== 'string' || !URGENCIES.has(urgency)) return false;
  if (typeof invalid !== 'number' || !Number.isInteger(invalid) || invalid < 0) return false;
  if (typeof lastActiveAt !== 'number' || !Number.isFinite(lastActiveAt)) return false;
  if (selection !== undefined && !isStringArray(selection)) return false;
  if (mode !== undefined && (typeof mode !== 'string' || !MODES.has(mode))) return false;
  if (returnTo !== undefined && typeof returnTo !== 'string') return false;
  if (!flow) return true;

  if (v[0] !== ENGINE_VERSION || v[1] !== flow.id || v[2] !== flow.version) return false;
  if (!flow.languages.includes(lang as never)) return false;
  const steps = stepIndex(flow);
  const current = steps.get(stepId);
  if (!current || !WAITING.has(current.type)) return false;
  for (const [id, answer] of Object.entries(answers)) {
    const s = steps.get(id);
    if (!s || !fitsStep(s, answer as Answer)) return false;
  }
  for (const id of skipped) {
    const s = steps.get(id);
    if (!s || !('optional' in s) || !s.optional) return false;
  }
  if (selection !== undefined) {
    if (current.type !== 'multi_choice') return false;
    if (!selection.every((id) => current.options.some((o) => o.id === id))) return false;
  }
  if (current.type === 'submit' && mode !== 'submitting' && mode !== 'submit_failed') return false;
  if (current.type !== 'submit' && (mode === 'submitting' || mode === 'submit_failed')) return false;
  if (mode === 'change' && current.type !== 'summary') return false;
  if (returnTo !== undefined && steps.get(returnTo)?.type !== 'summary') return false;
  return true;
}

/** Steps of a flow by id, built once per flow (every turn looks steps up; flows do not change once loaded). */
const stepIndexes = new WeakMap<Flow['steps'], { size: number; byId: ReadonlyMap<string, Step> }>();

export function stepIndex(flow: Flow): ReadonlyMap<string, Step> {
  const known = stepIndexes.get(flow.steps);
  if (known && known.size === flow.steps.length) return known.byId;
  const byId = new Map(flow.steps.map((s) => [s.id, s]));
  stepIndexes.set(flow.steps, { size: flow.steps.length, byId });
  return byId;
}
