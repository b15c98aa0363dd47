/**
 * JSON Schemas (ajv) for what Teams sends: the activity envelope, checked before botbuilder sees it, and the
 * data of an Adaptive Card submission (`activity.value`). A request that does not fit gets a 400 with the
 * path and the rule that failed, never the value.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

// Ids are printable ASCII in Teams; 256 bytes is what the keyed hash of a platform id accepts.
const id = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[\\x20-\\x7e]+$' } as const;
const account = {
  type: 'object',
  required: ['id'],
  properties: {
    id,
    name: { type: 'string', maxLength: 512 },
    aadObjectId: { type: 'string', maxLength: 128 },
    role: { type: 'string', maxLength: 64 },
  },
} as const;

/** The fields of an activity the channel relies on; the rest is left to botbuilder. */
export const ACTIVITY_SCHEMA = {
  type: 'object',
  required: ['type', 'channelId', 'serviceUrl', 'from', 'recipient', 'conversation'],
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 64 },
    id: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[\\x20-\\x7e]+$' },
    channelId: { type: 'string', minLength: 1, maxLength: 64 },
    serviceUrl: { type: 'string', minLength: 8, maxLength: 512, pattern: '^https?://[^\\s]+$' },
    locale: { type: 'string', maxLength: 32 },
    text: { type: 'string', maxLength: 20_000 },
    from: account,
    recipient: account,
    conversation: {
      type: 'object',
      required: ['id'],
      properties: {
        id,
        conversationType: { type: 'string', maxLength: 64 },
        tenantId: { type: 'string', maxLength: 128 },
        isGroup: { type: 'boolean' },
      },
    },
    membersAdded: { type: 'array', maxItems: 500, items: account },
    membersRemoved: { type: 'array', maxItems: 500, items: account },
    action: { type: 'string', maxLength: 64 },
    /** An invoke's name ("task/fetch", "task/submit"...). */
    name: { type: 'string', maxLength: 128 },
    value: {},
  },
  allOf: [
    // A message must carry an id (deduplication) and either text or a card submission.
    {
      if: { required: ['type'], properties: { type: { const: 'message' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: {
        required: ['id'],
        anyOf: [{ required: ['text'] }, { required: ['value'] }],
      },
    },
  ],
} as const;

/** The data our cards put in Action.Submit, merged by Teams with the card's inputs. */
export const SUBMIT_SCHEMA = {
  type: 'object',
  required: ['intake', 'stepId', 'optionId'],
  additionalProperties: false,
  properties: {
    intake: { const: 1 },
    stepId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_$:.-]+$' },
    optionId: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_$:.-]+$' },
    /** Input.ChoiceSet isMultiSelect: the chosen option ids, comma separated ('' when none). */
    selection: { type: 'string', maxLength: 4000, pattern: '^[A-Za-z0-9_,$-]*$' },
    /** The selection the card was drawn with (to turn the submitted selection into toggles). */
    initial: { type: 'string', maxLength: 4000, pattern: '^[A-Za-z0-9_,$-]*$' },
  },
} as const;

/** The `value` of a `task/fetch` invoke from our dialog card: `data` is the card action's data. */
export const DIALOG_FETCH_SCHEMA = {
  type: 'object',
  required: ['data'],
  properties: {
    data: {
      type: 'object',
      required: ['intake', 'dialog'],
      properties: {
        intake: { const: 1 },
        dialog: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_-]*$' },
      },
    },
  },
} as const;

/** A validated card submission. */
export interface CardSubmit {
  intake: 1;
  stepId: string;
  optionId: string;
  selection?: string;
  initial?: string;
}

/** A validated activity (only the fields the channel reads). */
export interface InboundActivity {
  type: string;
  id?: string;
  channelId: string;
  serviceUrl: string;
  locale?: string;
  text?: string;
  from: { id: string; name?: string; aadObjectId?: string };
  recipient: { id: string; name?: string };
  conversation: { id: string; conversationType?: string; tenantId?: string; isGroup?: boolean };
  membersAdded?: { id: string }[];
  action?: string;
  name?: string;
  value?: unknown;
}

// Compiled on first use (about 0.1 s): a process that serves no Teams traffic never pays for it.
let compiled: { activity: ValidateFunction; submit: ValidateFunction; dialog: ValidateFunction } | undefined;
function validators() {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
    compiled = {
      activity: ajv.compile(ACTIVITY_SCHEMA),
      submit: ajv.compile(SUBMIT_SCHEMA),
      dialog: ajv.compile(DIALOG_FETCH_SCHEMA),
    };
  }
  return compiled;
}

function reason(errors: ErrorObject[] | null | undefined, root: string): string {
  const e = errors?.find((x) => x.keyword === 'anyOf') ?? errors?.[0];
  if (!e) return `${root} is invalid`;
  if (e.keyword === 'anyOf') return `${root}${e.instancePath}: a message needs text or value`;
  const where = `${root}${e.instancePath}`;
  if (e.keyword === 'required')
    return `${where}: missing ${(e.params as { missingProperty: string }).missingProperty}`;
  if (e.keyword === 'additionalProperties') {
    return `${where}: unexpected property ${(e.params as { additionalProperty: string }).additionalProperty}`;
  }
  // ajv messages name the rule ("must be string", "must match pattern"), never the value.
  return `${where}: ${e.message ?? 'is invalid'}`;
}

/** Checks an activity; returns it typed, or the reason it was refused. */
export function checkActivity(
  body: unknown,
): { ok: true; activity: InboundActivity } | { ok: false; reason: string } {
  const validate = validators().activity;
  if (validate(body)) return { ok: true, activity: body as unknown as InboundActivity };
  return { ok: false, reason: reason(validate.errors, 'activity') };
}

/** Checks a card submission; returns it typed, or the reason it was refused. */
export function checkSubmit(
  value: unknown,
): { ok: true; submit: CardSubmit } | { ok: false; reason: string } {
  const validate = validators().submit;
  if (validate(value)) return { ok: true, submit: value as CardSubmit };
  return { ok: false, reason: reason(validate.errors, 'activity.value') };
}

/** Checks a `task/fetch` invoke's value; returns the flow asked for, or the reason it was refused. */
export function checkDialogFetch(
  value: unknown,
): { ok: true; flowId: string } | { ok: false; reason: string } {
  const validate = validators().dialog;
  if (validate(value)) return { ok: true, flowId: (value as { data: { dialog: string } }).data.dialog };
  return { ok: false, reason: reason(validate.errors, 'activity.value') };
}
