/**
 * A Mermaid `flowchart TD` of a flow, for reviewing it with the people who own the wording (paste it into
 * any Mermaid viewer, GitHub renders it in Markdown). Node ids are prefixed (`s_`) because Mermaid reserves
 * words such as `end`.
 */
import type { Condition, Flow, Lang, Step, Translated } from '../engine/types.js';

/** Options of {@link flowDiagram}. */
export interface DiagramOptions {
  /** Language of the labels (default: the flow's first language). */
  lang?: Lang;
  /** Longest label, in characters (default 48). */
  maxLabel?: number;
}

const QUESTION_TYPES = new Set(['choice', 'multi_choice', 'text', 'number', 'date', 'yes_no']);

function escapeLabel(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;').trim();
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function conditionLabel(c: Condition): string {
  if ('not' in c) return `not (${conditionLabel(c.not)})`;
  if ('and' in c) return c.and.map(conditionLabel).join(' and ');
  if ('or' in c) return c.or.map(conditionLabel).join(' or ');
  if ('answered' in c) return `${c.answered} answered`;
  if ('equals' in c) return `${c.answer} = ${String(c.equals)}`;
  if ('in' in c) return `${c.answer} in ${c.in.map(String).join(', ')}`;
  if ('lt' in c) return `${c.answer} < ${c.lt}`;
  if ('gt' in c) return `${c.answer} > ${c.gt}`;
  return `${c.answer} includes ${c.includes}`;
}

function node(step: Step, label: string): string {
  const id = `s_${step.id}`;
  const text = `"${label}"`;
  if (step.type === 'message') return `${id}[${text}]`;
  if (QUESTION_TYPES.has(step.type)) return `${id}[/${text}/]`;
  if (step.type === 'consent') return `${id}{{${text}}}`;
  if (step.type === 'summary') return `${id}[[${text}]]`;
  if (step.type === 'submit') return `${id}[(${text})]`;
  return `${id}([${text}])`;
}

/** The Mermaid text of `flow`: one node per step (shape by type), one edge per possible transition. */
export function flowDiagram(flow: Flow, options: DiagramOptions = {}): string {
  const lang = options.lang ?? flow.languages[0] ?? 'fr';
  const max = options.maxLabel ?? 48;
  const tr = (t: Translated | undefined) => (t ? (t[lang] ?? Object.values(t)[0] ?? '') : '');
  const lines = ['flowchart TD', `  start_(( )) --> s_${flow.start}`];
  for (const step of flow.steps) {
    const text = 'text' in step ? tr(step.text) : '';
    const label = escapeLabel(clip(text ? `${step.id}: ${text}` : `${step.id} (${step.type})`, max));
    lines.push(`  ${node(step, label)}`);
  }
  for (const step of flow.steps) {
    const from = `s_${step.id}`;
    if (step.type === 'consent') {
      lines.push(`  ${from} -->|"${escapeLabel(clip(tr(step.decline), max))}"| s_${step.decline_goto}`);
    }
    if (!('next' in step)) continue;
    if (typeof step.next === 'string') {
      lines.push(`  ${from} --> s_${step.next}`);
      continue;
    }
    const multiple = step.next.length > 1;
    for (const branch of step.next) {
      const label = branch.if ? conditionLabel(branch.if) : multiple ? 'otherwise' : '';
      lines.push(
        label
          ? `  ${from} -->|"${escapeLabel(clip(label, max))}"| s_${branch.goto}`
          : `  ${from} --> s_${branch.goto}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
