/**
 * The types of the flow language (what a `flows/*.yaml` file holds once validated by `flows/flow.schema.json`)
 * and of the conversation engine (turns in, replies and effects out). Plain data only: a flow and a
 * conversation state are JSON, so they can be validated, stored (encrypted) and compared.
 */

/** A language the engine speaks. French first. */
export type Lang = 'fr' | 'en';
/** Urgency of a conversation, ordered `normal < high < immediate`; a conversation keeps the highest. */
export type Urgency = 'normal' | 'high' | 'immediate';
/** Who a flow addresses: professionals (vouvoiement) or young people (tutoiement). */
export type FlowKind = 'professional' | 'youth';

/** One text per language, e.g. `{ fr: "Bonjour", en: "Hello" }`. */
export type Translated = Partial<Record<Lang, string>>;

/** A scalar an answer can be compared with. */
export type Scalar = string | number | boolean;

/** A test on the answers given so far. No code, no eval: one of these shapes. */
export type Condition =
  | { answer: string; equals: Scalar }
  | { answer: string; in: Scalar[] }
  | { answer: string; lt: number }
  | { answer: string; gt: number }
  | { answer: string; includes: string }
  | { answered: string }
  | { not: Condition }
  | { and: Condition[] }
  | { or: Condition[] };

/** One branch of a `next` list: go to `goto` when `if` holds (the last branch has no `if`). */
export interface Branch {
  if?: Condition;
  goto: string;
}
/** Where to go after a step: a step id or an ordered list of branches. */
export type Next = string | Branch[];

/** Raises the conversation's urgency to `level` when `if` holds (evaluated after the step is answered). */
export interface UrgencyRule {
  if: Condition;
  level: Urgency;
}

/** An option of a `choice` or `multi_choice` step. */
export interface ChoiceOption {
  id: string;
  label: Translated;
  /** Picking this option raises the urgency to this level. */
  urgency?: Urgency;
  /** Picking this option also shows the emergency card. */
  emergency?: boolean;
  /**
   * A text shown right after this option is picked, before the next question (for a `multi_choice`: after
   * "Valider", once per picked option that has one, in option order).
   */
  info?: Translated;
}

interface BaseStep {
  id: string;
  /** Rules evaluated right after the step is answered. */
  urgency?: UrgencyRule[];
}
interface InputStep extends BaseStep {
  text: Translated;
  next: Next;
  /** The user may skip it ("Passer"/"Skip" or /passer); the answer then stays unset. */
  optional?: boolean;
  /** The answer is given to the routing rules under this name. */
  routing?: string;
  /** Short label used by the summary (default: `text`). */
  summary_label?: Translated;
}

/** Shows `text` then goes on to `next` without waiting for input. */
export interface MessageStep extends BaseStep {
  type: 'message';
  text: Translated;
  /** Said instead of `text` in the web page (`Capabilities.page`). */
  page_text?: Translated;
  next: Next;
}
/** Single choice; the answer is the option id. */
export interface ChoiceStep extends InputStep {
  type: 'choice';
  options: ChoiceOption[];
}
/** Several choices, then "Valider"; the answer is the list of option ids in option order. */
export interface MultiChoiceStep extends InputStep {
  type: 'multi_choice';
  options: ChoiceOption[];
  /** Default 1, or 0 when optional. */
  min?: number;
  max?: number;
}
/** The shape a free-text answer must have (see `src/engine/formats.ts`). */
export type TextFormat = 'phone' | 'email' | 'phone_or_email' | 'commune';
/** Free text; the answer is the trimmed string. */
export interface TextStep extends InputStep {
  type: 'text';
  /** Default 1. */
  min_length?: number;
  /** Default 2000. */
  max_length?: number;
  /** Anything that does not have this shape ("2", "Valider", "oui") is re-prompted with the expected shape. */
  format?: TextFormat;
}
/** A whole number between `min` and `max`. */
export interface NumberStep extends InputStep {
  type: 'number';
  min: number;
  max: number;
}
/** A calendar day; the answer is `YYYY-MM-DD` (Europe/Paris). */
export interface DateStep extends InputStep {
  type: 'date';
  not_future?: boolean;
}
/** Yes or no; the answer is a boolean. */
export interface YesNoStep extends InputStep {
  type: 'yes_no';
}
/** Accept (answer `true`, then `next`) or decline (go to `decline_goto`, answer unset). */
export interface ConsentStep extends BaseStep {
  type: 'consent';
  text: Translated;
  accept: Translated;
  decline: Translated;
  decline_goto: string;
  next: Next;
  summary_label?: Translated;
}
/** Shows the answers, then confirm (`next`), change one answer, or start again. */
export interface SummaryStep {
  id: string;
  type: 'summary';
  text: Translated;
  next: Next;
}
/** Emits the `submit` effect and waits for `submitted` or `submit_failed`; `next` follows a success. */
export interface SubmitStep {
  id: string;
  type: 'submit';
  text?: Translated;
  /** Issue a secret receipt to the submitter (default true). */
  receipt?: boolean;
  /** When this holds, the submitter opted in to a contentless notice here when a coordinator replies. */
  notify_if?: Condition;
  next: Next;
}
/** Shows `text` (if any) and completes the conversation. */
export interface EndStep {
  id: string;
  type: 'end';
  text?: Translated;
  /** Said instead of `text` in the web page (`Capabilities.page`). */
  page_text?: Translated;
}

/** A step of a flow: a discriminated union on `type`. */
export type Step =
  | MessageStep
  | ChoiceStep
  | MultiChoiceStep
  | TextStep
  | NumberStep
  | DateStep
  | YesNoStep
  | ConsentStep
  | SummaryStep
  | SubmitStep
  | EndStep;

/** The `type` of a step. */
export type StepType = Step['type'];

/** Steps that wait for an answer that is stored in `answers`. */
export type QuestionStep = ChoiceStep | MultiChoiceStep | TextStep | NumberStep | DateStep | YesNoStep;

/** A validated flow file. */
export interface Flow {
  id: string;
  version: number;
  kind: FlowKind;
  description?: string;
  aliases?: string[];
  languages: Lang[];
  title: Translated;
  start: string;
  steps: Step[];
}

/** What the platform can do; the engine asks for capabilities, never for a platform's name. */
export interface Capabilities {
  /** Inline buttons can be shown; without them choices are also numbered in the text. */
  buttons: boolean;
  /** Messages already sent can be deleted (used by /effacer). */
  deleteMessages: boolean;
  /**
   * The conversation runs in the web page (/chat/): no chat history kept by an app, visible controls
   * (Quitter, Aide, Urgence). Steps with a `page_text` say it instead of `text`.
   */
  page?: boolean;
}

/** One event of a conversation, as the channel translated it. */
export type Turn =
  | { kind: 'start'; now: number; payload?: string; locale?: string; capabilities: Capabilities }
  | { kind: 'text'; now: number; text: string; locale?: string; capabilities: Capabilities }
  | { kind: 'choice'; now: number; stepId: string; optionId: string; capabilities: Capabilities }
  | { kind: 'submitted'; now: number; reference: string; receipt?: string; capabilities: Capabilities }
  | {
      kind: 'submit_failed';
      now: number;
      reason: 'no_recipient' | 'unavailable';
      capabilities: Capabilities;
    };

/** A choice offered to the user: `id` comes back in a `choice` turn, `label` is shown. */
export interface ReplyOption {
  id: string;
  label: string;
  selected?: boolean;
}

/** What the channel shows to the user, in order. */
export type Reply =
  | { type: 'text'; text: string }
  | { type: 'choices'; stepId: string; text: string; multi: boolean; options: ReplyOption[] }
  | { type: 'emergency'; title: string; lines: { number: string; label: string }[]; text?: string }
  | { type: 'summary'; title: string; items: { stepId: string; label: string; value: string }[] }
  | { type: 'receipt'; reference: string; receipt?: string; text: string };

/** An answer as stored in the state. */
export type Answer = string | number | boolean | string[];

/** What the caller must do after a turn; effects are carried out in order, before persisting the state. */
export type Effect =
  | {
      type: 'submit';
      flowId: string;
      flowVersion: number;
      kind: FlowKind;
      lang: Lang;
      answers: Record<string, unknown>;
      urgency: Urgency;
      routing: Record<string, unknown>;
      receipt: boolean;
      /** The submitter asked to be told here (without content) when a coordinator replies. */
      notify: boolean;
    }
  /** /effacer: delete the stored state (and the platform messages when it can). */
  | { type: 'erase' }
  /** /stop or completion: delete the stored state. */
  | { type: 'forget' }
  /** /suivi <receipt>: the caller opens the replies and answers itself. */
  | { type: 'follow_up'; receipt: string }
  /** The urgency just became `immediate`. */
  | { type: 'mark_urgent' };

/** Where the conversation stands after a turn. */
export type Status = 'awaiting-input' | 'submitting' | 'completed' | 'erased' | 'stopped';

/** Sub-mode of the current step (kept in the state between turns). */
export type StepMode = 'change' | 'submitting' | 'submit_failed';

/**
 * An in-progress conversation: plain JSON, encrypted and stored by the caller after each successful turn.
 * `v` pins the engine version and the flow (id and version) it was started on.
 */
export interface ConversationState {
  v: [engineVersion: number, flowId: string, flowVersion: number];
  lang: Lang;
  /** The step waiting for input. */
  stepId: string;
  answers: Record<string, Answer>;
  /** Optional steps the user skipped (so the flow does not ask them again). */
  skipped: string[];
  urgency: Urgency;
  /** Invalid answers in a row on the current step. */
  invalid: number;
  /** `turn.now` of the last turn (milliseconds since the epoch). */
  lastActiveAt: number;
  /** Options toggled on a `multi_choice` step, not yet validated. */
  selection?: string[];
  mode?: StepMode;
  /** The summary step to come back to after changing an answer. */
  returnTo?: string;
}

/** The result of one turn. `state === null` means the caller deletes the stored state. */
export interface StepResult {
  state: ConversationState | null;
  replies: Reply[];
  effects: Effect[];
  status: Status;
}

/** Options of {@link step}. */
export interface EngineOptions {
  /** A conversation idle longer than this is forgotten and starts over (default 24 h). */
  idleTimeoutMs?: number;
  /** Language when neither the state nor the turn's locale decides (default: the flow's first language). */
  defaultLang?: Lang;
}
