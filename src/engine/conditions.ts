/**
 * Evaluates the `if` conditions of a flow against the answers given so far, and resolves `next`.
 * No code and no eval: a condition is one of a few data shapes (see docs/FLOWS.md).
 */
import type { Answer, Condition, Next, Urgency } from './types.js';

/** Answers by step id, as kept in the conversation state. */
export type Answers = Readonly<Record<string, Answer | undefined>>;

/** Whether `condition` holds for `answers`. An unanswered step makes every comparison false. */
export function evaluate(condition: Condition, answers: Answers): boolean {
  if ('not' in condition) return !evaluate(condition.not, answers);
  if ('and' in condition) return condition.and.every((c) => evaluate(c, answers));
  if ('or' in condition) return condition.or.some((c) => evaluate(c, answers));
  if ('answered' in condition) return answers[condition.answered] !== undefined;
  const value = answers[condition.answer];
  if (value === undefined) return false;
  if ('equals' in condition) return value === condition.equals;
  if ('in' in condition) return !Array.isArray(value) && condition.in.includes(value);
  if ('lt' in condition) return typeof value === 'number' && value < condition.lt;
  if ('gt' in condition) return typeof value === 'number' && value > condition.gt;
  if ('includes' in condition) return Array.isArray(value) && value.includes(condition.includes);
  return false;
}

/**
 * The step that follows: `next` itself when it is a step id, else the `goto` of the first branch whose `if`
 * holds (a branch without `if` always holds). `undefined` when no branch holds (the checker forbids that).
 */
export function resolveNext(next: Next, answers: Answers): string | undefined {
  if (typeof next === 'string') return next;
  for (const branch of next) {
    if (!branch.if || evaluate(branch.if, answers)) return branch.goto;
  }
  return undefined;
}

/** Every step id a `next` may lead to, in order, without evaluating conditions. */
export function nextTargets(next: Next): string[] {
  return typeof next === 'string' ? [next] : next.map((b) => b.goto);
}

const RANK: Record<Urgency, number> = { normal: 0, high: 1, immediate: 2 };

/** The higher of two urgency levels (`normal < high < immediate`). */
export function maxUrgency(a: Urgency, b: Urgency): Urgency {
  return RANK[b] > RANK[a] ? b : a;
}

/** Every step id a condition reads, for the checker. */
export function referencedSteps(condition: Condition): string[] {
  if ('not' in condition) return referencedSteps(condition.not);
  if ('and' in condition) return condition.and.flatMap(referencedSteps);
  if ('or' in condition) return condition.or.flatMap(referencedSteps);
  if ('answered' in condition) return [condition.answered];
  return [condition.answer];
}
