/** Builders shared by the engine tests: turns, a tiny driver, and the fixture flows. */
import { fileURLToPath } from 'node:url';
import {
  type Capabilities,
  type ConversationState,
  type EngineOptions,
  type Flow,
  type Reply,
  type StepResult,
  step,
  type Turn,
} from '../../src/engine/index.js';
import { loadFlowFile } from '../../src/flows/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/flows/', import.meta.url));
export const T0 = Date.UTC(2024, 6, 14, 10, 0, 0); // 14 July 2024, 12:00 in Paris
export const BUTTONS: Capabilities = { buttons: true, deleteMessages: true };
export const PLAIN: Capabilities = { buttons: false, deleteMessages: false };

export const complete = (): Flow => loadFlowFile(`${FIXTURES}complete.yaml`);
export const youthMini = (): Flow => loadFlowFile(`${FIXTURES}youth-mini.yaml`);

/** Drives one conversation, keeping the state like a caller would (persist after each turn). */
export class Driver {
  state: ConversationState | null = null;
  now = T0;
  last!: StepResult;
  constructor(
    public flow: Flow,
    public caps: Capabilities = BUTTONS,
    public options: EngineOptions = {},
  ) {}
  turn(t: Turn): StepResult {
    this.last = step(this.flow, this.state, t, this.options);
    this.state = this.last.state;
    return this.last;
  }
  start(locale?: string): StepResult {
    this.now += 1000;
    return this.turn({
      kind: 'start',
      now: this.now,
      capabilities: this.caps,
      ...(locale ? { locale } : {}),
    });
  }
  text(text: string): StepResult {
    this.now += 1000;
    return this.turn({ kind: 'text', now: this.now, text, capabilities: this.caps });
  }
  press(
    optionId: string,
    stepId = this.state?.mode === 'change' ? `${this.state.stepId}:change` : (this.state?.stepId ?? ''),
  ): StepResult {
    this.now += 1000;
    return this.turn({ kind: 'choice', now: this.now, stepId, optionId, capabilities: this.caps });
  }
  submitted(reference = 'R-1234', receipt?: string): StepResult {
    this.now += 1000;
    return this.turn({
      kind: 'submitted',
      now: this.now,
      reference,
      capabilities: this.caps,
      ...(receipt ? { receipt } : {}),
    });
  }
}

/** All text shown by a result, joined (text replies, choices' text, emergency and receipt text). */
export function shown(result: StepResult): string {
  return result.replies.map(replyText).join('\n---\n');
}

export function replyText(r: Reply): string {
  switch (r.type) {
    case 'text':
      return r.text;
    case 'choices':
      return r.text;
    case 'emergency':
      return `${r.title}\n${r.lines.map((l) => `${l.number} ${l.label}`).join('\n')}\n${r.text ?? ''}`;
    case 'summary':
      return `${r.title}\n${r.items.map((i) => `${i.label}: ${i.value}`).join('\n')}`;
    case 'receipt':
      return `${r.reference} ${r.receipt ?? ''} ${r.text}`;
  }
}

export function lastChoices(result: StepResult): Extract<Reply, { type: 'choices' }> | undefined {
  return result.replies.filter((r): r is Extract<Reply, { type: 'choices' }> => r.type === 'choices').at(-1);
}
