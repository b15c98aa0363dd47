/**
 * Static analysis of a flow file: schema errors first, then what a schema cannot see (targets that do not
 * exist, unreachable steps, dead ends, cycles without exit, missing translations, duplicate ids, conditions
 * on unknown steps or on answers they can never match). Every diagnostic names the file, the line and the
 * step, so a non-programmer author can find and fix it.
 */
import { basename } from 'node:path';
import { nextTargets, referencedSteps } from '../engine/conditions.js';
import type { Condition, Flow, Lang, Next, Step, Translated } from '../engine/types.js';
import { type Diagnostic, type ParsedFlow, readFlowFile, schemaDiagnostics } from './load.js';

const ANSWERING = new Set(['choice', 'multi_choice', 'text', 'number', 'date', 'yes_no', 'consent']);
const TERMINAL = new Set(['submit', 'end']);

/** Options of {@link checkFlow}. */
export interface CheckOptions {
  /** File name the flow id must match (`youth.yaml`, or `youth.v1.yaml` under `archive/`). */
  fileName?: string;
}

/** Checks a parsed flow file and returns every diagnostic (empty when the flow is fine). */
export function checkFlow(parsed: ParsedFlow, options: CheckOptions = {}): Diagnostic[] {
  if (parsed.diagnostics.length > 0) return [...parsed.diagnostics];
  const schema = schemaDiagnostics(parsed);
  if (schema.length > 0) return schema;
  return semanticDiagnostics(parsed, parsed.value as Flow, options);
}

/** Reads, parses and checks a flow file. */
export function checkFile(path: string): Diagnostic[] {
  return checkFlow(readFlowFile(path), { fileName: basename(path) });
}

/** What a file name says the flow must be: `youth.yaml` => youth; `youth.v2.yaml` => youth version 2. */
export function expectedFromFileName(fileName: string): { id: string; version?: number } | undefined {
  const m = /^(.+?)(?:\.v(\d+))?\.ya?ml$/.exec(fileName);
  if (!m?.[1]) return undefined;
  return m[2] ? { id: m[1], version: Number(m[2]) } : { id: m[1] };
}

type Path = (string | number)[];

function semanticDiagnostics(parsed: ParsedFlow, flow: Flow, options: CheckOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (path: Path, message: string, stepId?: string) =>
    out.push({ file: parsed.file, line: parsed.lineOf(path), stepId, message, severity: 'error' });

  // The flow as a whole.
  const expected = options.fileName ? expectedFromFileName(options.fileName) : undefined;
  if (expected && expected.id !== flow.id) {
    report(['id'], `flow id "${flow.id}" does not match the file name (expected "${expected.id}")`);
  }
  if (expected?.version !== undefined && expected.version !== flow.version) {
    report(
      ['version'],
      `version ${flow.version} does not match the file name (expected ${expected.version})`,
    );
  }
  if (flow.languages[0] !== 'fr') report(['languages'], 'languages must list fr first');
  checkTranslated(flow.title, flow.languages, 'title', ['title'], report);

  // Step ids.
  const byId = new Map<string, { step: Step; index: number }>();
  flow.steps.forEach((step, index) => {
    const first = byId.get(step.id);
    if (first) {
      report(
        ['steps', index, 'id'],
        `duplicate step id "${step.id}" (first defined on line ${parsed.lineOf(['steps', first.index])})`,
        step.id,
      );
    } else {
      byId.set(step.id, { step, index });
    }
  });
  if (!byId.has(flow.start)) report(['start'], `start step "${flow.start}" does not exist`);

  const routingNames = new Map<string, string>();
  flow.steps.forEach((step, index) => {
    const at: Path = ['steps', index];
    const r = (path: Path, message: string) => report([...at, ...path], message, step.id);

    // Targets.
    if ('next' in step) checkNext(step.next, byId, r);
    if (step.type === 'consent' && !byId.has(step.decline_goto)) {
      r(['decline_goto'], `decline_goto goes to unknown step "${step.decline_goto}"`);
    }

    // Translations.
    for (const field of ['text', 'page_text', 'summary_label', 'accept', 'decline'] as const) {
      const value = (step as unknown as Record<string, Translated | undefined>)[field];
      if (value) checkTranslated(value, flow.languages, field, [...at, field], report, step.id);
    }
    if ('options' in step) {
      const seen = new Map<string, number>();
      step.options.forEach((option, i) => {
        checkTranslated(
          option.label,
          flow.languages,
          `options[${i}].label`,
          [...at, 'options', i, 'label'],
          report,
          step.id,
        );
        if (option.info) {
          checkTranslated(
            option.info,
            flow.languages,
            `options[${i}].info`,
            [...at, 'options', i, 'info'],
            report,
            step.id,
          );
        }
        if (seen.has(option.id)) {
          r(
            ['options', i, 'id'],
            `duplicate option id "${option.id}" (options ${(seen.get(option.id) ?? 0) + 1} and ${i + 1})`,
          );
        } else {
          seen.set(option.id, i);
        }
      });
    }

    // Ranges.
    if (step.type === 'number' && step.min > step.max)
      r(['min'], `min (${step.min}) is greater than max (${step.max})`);
    if (step.type === 'text' && (step.min_length ?? 1) > (step.max_length ?? 2000)) {
      r(
        ['min_length'],
        `min_length (${step.min_length ?? 1}) is greater than max_length (${step.max_length ?? 2000})`,
      );
    }
    if (step.type === 'multi_choice') {
      const min = step.min ?? (step.optional ? 0 : 1);
      const max = step.max ?? step.options.length;
      if (min > max) r(['min'], `min (${min}) is greater than max (${max})`);
      if (max > step.options.length)
        r(['max'], `max (${max}) is greater than the number of options (${step.options.length})`);
    }

    // Routing names.
    if ('routing' in step && step.routing) {
      const other = routingNames.get(step.routing);
      if (other) r(['routing'], `routing name "${step.routing}" is already used by step "${other}"`);
      else routingNames.set(step.routing, step.id);
    }

    // Conditions.
    if ('next' in step && Array.isArray(step.next)) {
      step.next.forEach((branch, i) => {
        if (branch.if) checkCondition(branch.if, 'next', byId, (m) => r(['next', i, 'if'], m));
      });
    }
    if ('urgency' in step && step.urgency) {
      step.urgency.forEach((rule, i) => {
        checkCondition(rule.if, 'urgency', byId, (m) => r(['urgency', i, 'if'], m));
      });
    }
    if (step.type === 'submit' && step.notify_if) {
      checkCondition(step.notify_if, 'notify_if', byId, (m) => r(['notify_if'], m));
    }
  });

  checkGraph(flow, byId, report);
  return out.sort((a, b) => a.line - b.line);
}

function checkNext(next: Next, byId: Map<string, unknown>, r: (path: Path, message: string) => void): void {
  if (typeof next === 'string') {
    if (!byId.has(next)) r(['next'], `next goes to unknown step "${next}"`);
    return;
  }
  next.forEach((branch, i) => {
    if (!byId.has(branch.goto)) r(['next', i, 'goto'], `next goes to unknown step "${branch.goto}"`);
    if (!branch.if && i < next.length - 1) {
      r(
        ['next', i],
        `branch ${i + 1} of next has no "if" but is not the last one: the branches after it are never taken`,
      );
    }
  });
  const last = next.at(-1);
  if (last?.if) r(['next', next.length - 1], 'the last branch of next must have no "if" (it is the default)');
}

function checkTranslated(
  value: Translated,
  languages: Lang[],
  field: string,
  path: Path,
  report: (path: Path, message: string, stepId?: string) => void,
  stepId?: string,
): void {
  for (const lang of languages) {
    if (!value[lang]?.trim()) report(path, `missing "${lang}" translation of ${field}`, stepId);
  }
}

function checkCondition(
  cond: Condition,
  where: string,
  byId: Map<string, { step: Step }>,
  r: (message: string) => void,
): void {
  if ('not' in cond) {
    checkCondition(cond.not, where, byId, r);
    return;
  }
  if ('and' in cond || 'or' in cond) {
    for (const c of 'and' in cond ? cond.and : cond.or) checkCondition(c, where, byId, r);
    return;
  }
  const id = referencedSteps(cond)[0] ?? '';
  const target = byId.get(id)?.step;
  if (!target) {
    r(`condition in ${where} refers to unknown step "${id}"`);
    return;
  }
  if (!ANSWERING.has(target.type)) {
    r(`condition in ${where} refers to step "${id}", which has no answer (${target.type})`);
    return;
  }
  if ('answered' in cond) return;
  const optionIds = 'options' in target ? target.options.map((o) => o.id) : undefined;
  const compare = (value: unknown) => {
    if (target.type === 'yes_no' || target.type === 'consent') {
      if (typeof value !== 'boolean')
        r(
          `condition in ${where} compares "${id}" (${target.type}) with ${JSON.stringify(value)}: use true or false`,
        );
    } else if (target.type === 'number') {
      if (typeof value !== 'number')
        r(`condition in ${where} compares "${id}" (number) with ${JSON.stringify(value)}: use a number`);
    } else if (target.type === 'multi_choice') {
      r(`condition in ${where} compares "${id}" (multi_choice) with equals/in: use includes`);
    } else if (optionIds && !optionIds.includes(String(value))) {
      r(
        `condition in ${where} compares "${id}" with "${String(value)}", which is not one of its options (${optionIds.join(', ')})`,
      );
    }
  };
  if ('equals' in cond) compare(cond.equals);
  else if ('in' in cond) {
    if (target.type === 'multi_choice') compare(undefined);
    else cond.in.forEach(compare);
  } else if ('lt' in cond || 'gt' in cond) {
    if (target.type !== 'number')
      r(`condition in ${where} uses ${'lt' in cond ? 'lt' : 'gt'} on "${id}", which is not a number step`);
  } else if ('includes' in cond) {
    if (target.type !== 'multi_choice')
      r(`condition in ${where} uses includes on "${id}", which is not a multi_choice step`);
    else if (!optionIds?.includes(cond.includes)) {
      r(
        `condition in ${where} uses includes "${cond.includes}", which is not an option of "${id}" (${optionIds?.join(', ')})`,
      );
    }
  }
}

/** Edges a conversation can follow, ignoring conditions (every branch may be taken). */
function edges(step: Step, byId: Map<string, unknown>): { targets: string[]; broken: boolean } {
  const all = [
    ...('next' in step ? nextTargets(step.next) : []),
    ...(step.type === 'consent' ? [step.decline_goto] : []),
  ];
  return { targets: all.filter((t) => byId.has(t)), broken: all.some((t) => !byId.has(t)) };
}

function checkGraph(
  flow: Flow,
  byId: Map<string, { step: Step; index: number }>,
  report: (path: Path, message: string, stepId?: string) => void,
): void {
  if (!byId.has(flow.start)) return;
  const graph = new Map<string, { targets: string[]; broken: boolean }>();
  for (const [id, { step }] of byId) graph.set(id, edges(step, byId));

  // Reachable from the start.
  const reachable = new Set<string>([flow.start]);
  const queue = [flow.start];
  while (queue.length) {
    const id = queue.shift() as string;
    for (const t of graph.get(id)?.targets ?? []) {
      if (!reachable.has(t)) {
        reachable.add(t);
        queue.push(t);
      }
    }
  }
  for (const [id, { index }] of byId) {
    if (!reachable.has(id))
      report(['steps', index], `step is unreachable from the start step "${flow.start}"`, id);
  }

  // Can reach a submit or end step. A step with a broken target is already reported: do not pile on.
  const canFinish = new Set<string>();
  for (const [id, { step }] of byId) if (TERMINAL.has(step.type) || graph.get(id)?.broken) canFinish.add(id);
  let changed = true;
  while (changed) {
    changed = false;
    for (const [id, e] of graph) {
      if (!canFinish.has(id) && e.targets.some((t) => canFinish.has(t))) {
        canFinish.add(id);
        changed = true;
      }
    }
  }

  // Cycles that cannot be left (strongly connected components with no way out).
  const inTrap = new Set<string>();
  for (const component of stronglyConnected([...reachable], graph)) {
    const members = new Set(component);
    const cyclic =
      component.length > 1 || (graph.get(component[0] ?? '')?.targets ?? []).includes(component[0] ?? '');
    if (!cyclic || component.some((id) => canFinish.has(id))) continue;
    const ordered = component.sort((a, b) => (byId.get(a)?.index ?? 0) - (byId.get(b)?.index ?? 0));
    const first = ordered[0] as string;
    const loop = [...walkCycle(first, members, graph), first].join(' -> ');
    for (const id of ordered) inTrap.add(id);
    report(
      ['steps', byId.get(first)?.index ?? 0],
      `cycle with no exit: ${loop} never reaches a submit or end step`,
      first,
    );
  }
  for (const [id, { index }] of byId) {
    if (reachable.has(id) && !canFinish.has(id) && !inTrap.has(id)) {
      report(['steps', index], 'dead end: no path from this step reaches a submit or end step', id);
    }
  }
}

/** One cycle through `start` inside its component, for the message. */
function walkCycle(start: string, members: Set<string>, graph: Map<string, { targets: string[] }>): string[] {
  const path = [start];
  const seen = new Set([start]);
  let at = start;
  for (;;) {
    const targets = (graph.get(at)?.targets ?? []).filter((t) => members.has(t));
    if (targets.includes(start)) return path;
    const next = targets.find((t) => !seen.has(t));
    if (!next) return path;
    path.push(next);
    seen.add(next);
    at = next;
  }
}

/** Tarjan's algorithm (iterative enough for flow sizes: recursion depth is the number of steps). */
function stronglyConnected(nodes: string[], graph: Map<string, { targets: string[] }>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result: string[][] = [];
  const allowed = new Set(nodes);
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.targets ?? []) {
      if (!allowed.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      result.push(component);
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return result;
}
