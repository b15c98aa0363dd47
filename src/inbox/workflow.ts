/**
 * The case workflow (config/workflow.yaml): statuses, permitted transitions and the fields each requires,
 * closing reasons, partners and due times. Validated with ajv when the inbox starts; any problem stops the
 * start with the file, the JSON pointer and what is wrong.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { CONFIG_DIR, ROOT_DIR } from '../paths.js';

/** A field a transition may require. */
export type TransitionField = 'reason' | 'partner' | 'duplicateOf';

export interface Workflow {
  statuses: { id: string; label: { fr: string; en: string }; final?: boolean }[];
  initial: string;
  evaluated: string[];
  transitions: { from: string[]; to: string; requires?: TransitionField[] }[];
  closeReasons: { id: string; label: { fr: string; en: string } }[];
  partners: { id: string; name: string }[];
  due: { immediateOpenMinutes: number; evaluateHours: number };
}

/** An invalid workflow file; the message names the file and the JSON pointer. */
export class WorkflowError extends Error {
  override name = 'WorkflowError';
  /** Names the file and the JSON pointer; safe to print. */
  readonly safeMessage = true;
}

const ID = { type: 'string', pattern: '^[a-z][a-z0-9_]{0,39}$' } as const;
const LABEL = {
  type: 'object',
  additionalProperties: false,
  required: ['fr', 'en'],
  properties: {
    fr: { type: 'string', minLength: 1, maxLength: 120 },
    en: { type: 'string', minLength: 1, maxLength: 120 },
  },
} as const;

/** JSON Schema of config/workflow.yaml. */
export const WORKFLOW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['statuses', 'initial', 'evaluated', 'transitions', 'closeReasons', 'partners', 'due'],
  properties: {
    statuses: {
      type: 'array',
      minItems: 2,
      maxItems: 40,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'label'],
        properties: { id: ID, label: LABEL, final: { type: 'boolean' } },
      },
    },
    initial: ID,
    evaluated: { type: 'array', items: ID, uniqueItems: true },
    transitions: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to'],
        properties: {
          from: { type: 'array', minItems: 1, items: ID, uniqueItems: true },
          to: ID,
          requires: {
            type: 'array',
            uniqueItems: true,
            items: { type: 'string', enum: ['reason', 'partner', 'duplicateOf'] },
          },
        },
      },
    },
    closeReasons: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'label'],
        properties: { id: ID, label: LABEL },
      },
    },
    partners: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name'],
        properties: { id: ID, name: { type: 'string', minLength: 1, maxLength: 120 } },
      },
    },
    due: {
      type: 'object',
      additionalProperties: false,
      required: ['immediateOpenMinutes', 'evaluateHours'],
      properties: {
        immediateOpenMinutes: { type: 'integer', minimum: 1, maximum: 10080 },
        evaluateHours: { type: 'integer', minimum: 1, maximum: 8760 },
      },
    },
  },
} as const;

function describe(err: ErrorObject): string {
  if (err.keyword === 'additionalProperties') {
    return `unknown property "${(err.params as { additionalProperty: string }).additionalProperty}"`;
  }
  if (err.keyword === 'enum') {
    return `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  }
  return err.message ?? 'is invalid';
}

/** Validates a parsed workflow; `label` names the file in messages. */
export function validateWorkflow(value: unknown, label: string): Workflow {
  const ajv = new Ajv({ allErrors: false, strict: true });
  const validate = ajv.compile(WORKFLOW_SCHEMA);
  if (!validate(value)) {
    const err = validate.errors![0]!;
    throw new WorkflowError(`${label}: ${err.instancePath || '/'}: ${describe(err)}`);
  }
  const wf = value as unknown as Workflow;
  const ids = new Set<string>();
  wf.statuses.forEach((s, i) => {
    if (ids.has(s.id)) throw new WorkflowError(`${label}: /statuses/${i}/id: duplicate status "${s.id}"`);
    ids.add(s.id);
  });
  const known = (id: string, pointer: string) => {
    if (!ids.has(id)) throw new WorkflowError(`${label}: ${pointer}: unknown status "${id}"`);
  };
  known(wf.initial, '/initial');
  wf.evaluated.forEach((id, i) => {
    known(id, `/evaluated/${i}`);
  });
  const pairs = new Set<string>();
  wf.transitions.forEach((t, i) => {
    known(t.to, `/transitions/${i}/to`);
    t.from.forEach((f, j) => {
      known(f, `/transitions/${i}/from/${j}`);
      if (f === t.to)
        throw new WorkflowError(`${label}: /transitions/${i}/from/${j}: a status cannot go to itself`);
      if (pairs.has(`${f}>${t.to}`)) {
        throw new WorkflowError(
          `${label}: /transitions/${i}/from/${j}: transition ${f} -> ${t.to} listed twice`,
        );
      }
      pairs.add(`${f}>${t.to}`);
    });
    if (t.requires?.includes('reason') && wf.closeReasons.length === 0) {
      throw new WorkflowError(`${label}: /closeReasons: a transition requires a reason but none is listed`);
    }
    if (t.requires?.includes('partner') && wf.partners.length === 0) {
      throw new WorkflowError(`${label}: /partners: a transition requires a partner but none is listed`);
    }
  });
  for (const [key, list] of [
    ['closeReasons', wf.closeReasons],
    ['partners', wf.partners],
  ] as const) {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      if (seen.has(item.id)) throw new WorkflowError(`${label}: /${key}/${i}/id: duplicate id "${item.id}"`);
      seen.add(item.id);
    });
  }
  return wf;
}

/** Reads and validates `workflow.yaml` from the config folder (default: the project's config/). */
export function loadWorkflow(dir: string = process.env.INTAKE_CONFIG_DIR ?? CONFIG_DIR): Workflow {
  const path = join(dir, 'workflow.yaml');
  const rel = relative(ROOT_DIR, path);
  const label = rel.startsWith('..') ? path : rel;
  // A config folder without its own workflow falls back to the shipped one.
  const file = existsSync(path) ? path : join(CONFIG_DIR, 'workflow.yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), {
    prettyErrors: false,
    uniqueKeys: true,
    lineCounter,
  });
  const first = doc.errors[0];
  if (first) {
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new WorkflowError(`${label}${line ? `: line ${line}` : ''}: invalid YAML (${first.code})`);
  }
  return validateWorkflow(doc.toJS(), label);
}

/** The transition rule from `from` to `to`, or undefined when not permitted. */
export function findTransition(wf: Workflow, from: string, to: string) {
  return wf.transitions.find((t) => t.to === to && t.from.includes(from));
}

/** Due-time state of a report: deadlines and whether one is missed. */
export interface DueState {
  openBy: string | null;
  evaluateBy: string | null;
  overdue: 'not_opened' | 'not_evaluated' | null;
}

export function dueState(
  wf: Workflow,
  r: { urgency: string; status: string; received_at: Date; first_opened_at: Date | null },
  now: number,
): DueState {
  const received = new Date(r.received_at).getTime();
  const openBy = r.urgency === 'immediate' ? new Date(received + wf.due.immediateOpenMinutes * 60_000) : null;
  const evaluated = wf.evaluated.includes(r.status);
  const evaluateBy = evaluated ? null : new Date(received + wf.due.evaluateHours * 3_600_000);
  let overdue: DueState['overdue'] = null;
  if (openBy && !r.first_opened_at && now > openBy.getTime()) overdue = 'not_opened';
  else if (evaluateBy && now > evaluateBy.getTime()) overdue = 'not_evaluated';
  return {
    openBy: openBy && !r.first_opened_at ? openBy.toISOString() : null,
    evaluateBy: evaluateBy ? evaluateBy.toISOString() : null,
    overdue,
  };
}
