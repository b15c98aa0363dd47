/**
 * Reading flow files: YAML parsed with `parseDocument` so every problem can name the file, the line and the
 * step it belongs to; then validated once against `flows/flow.schema.json` (ajv, compiled once).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type Document, isMap, LineCounter, type Node, parseDocument } from 'yaml';
import type { Flow } from '../engine/types.js';
import { FLOWS_DIR } from '../paths.js';

/** A problem found in a flow file. */
export interface Diagnostic {
  /** The file, relative to the current directory when inside it. */
  file: string;
  /** 1-based line of the closest YAML node. */
  line: number;
  /** The step the problem belongs to, if any. */
  stepId?: string;
  message: string;
  severity: 'error' | 'warning';
}

/** A flow file parsed but not yet checked. */
export interface ParsedFlow {
  file: string;
  /** The plain data (`undefined` when the YAML itself is broken). */
  value: unknown;
  /** Line of the node at `path` (or of its closest existing parent). */
  lineOf(path: readonly (string | number)[]): number;
  /** YAML syntax problems (the file cannot be checked further). */
  diagnostics: Diagnostic[];
}

/** A flow file that failed to load; `diagnostics` lists every error. */
export class FlowError extends Error {
  override name = 'FlowError';
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
  }
}

/** `file:line step <id>: message` (or `file:line: message` for the flow as a whole). */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}${d.stepId ? ` step ${d.stepId}` : ''}: ${d.message}`;
}

/** How files are named in diagnostics: relative to the current directory when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** Parses flow YAML text; never throws. */
export function parseFlowText(text: string, file: string): ParsedFlow {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined) =>
    offset === undefined ? 1 : lineCounter.linePos(offset).line;
  const lineOf = (path: readonly (string | number)[]): number => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (node && typeof node === 'object' && 'range' in node) {
        // For a key of a mapping, point at the key rather than at its (possibly multi-line) value.
        const parent =
          depth > 0 ? (depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true)) : null;
        if (isMap(parent)) {
          const pair = parent.items.find(
            (p) => (p.key as { value?: unknown } | null)?.value === path[depth - 1],
          );
          const keyRange = (pair?.key as Node | undefined)?.range;
          if (keyRange) return lineAt(keyRange[0]);
        }
        return lineAt((node as Node).range?.[0]);
      }
    }
    return 1;
  };
  const diagnostics: Diagnostic[] = doc.errors.map((err) => ({
    file,
    line: err.linePos?.[0]?.line ?? 1,
    message: `invalid YAML: ${err.message.split('\n')[0]}`,
    severity: 'error',
  }));
  let value: unknown;
  if (diagnostics.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      diagnostics.push({
        file,
        line: 1,
        message: `invalid YAML: ${(err as Error).message}`,
        severity: 'error',
      });
    }
  }
  return { file, value, lineOf, diagnostics };
}

/** Reads and parses a flow file; a missing or unreadable file becomes a diagnostic, not an exception. */
export function readFlowFile(path: string): ParsedFlow {
  const file = displayPath(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? 'error'})`;
    return {
      file,
      value: undefined,
      lineOf: () => 1,
      diagnostics: [{ file, line: 1, message, severity: 'error' }],
    };
  }
  return parseFlowText(text, file);
}

let compiled: ValidateFunction | undefined;
/** The flow schema validator, compiled once. */
function schemaValidator(): ValidateFunction {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(join(FLOWS_DIR, 'flow.schema.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, discriminator: true });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

const STEP_TYPES = [
  'message',
  'choice',
  'multi_choice',
  'text',
  'number',
  'date',
  'yes_no',
  'consent',
  'summary',
  'submit',
  'end',
];

const CONDITION_HINT =
  'use { answer, equals|in|lt|gt|includes }, { answered }, { not }, { and: [...] } or { or: [...] }';

function isConditionPath(segments: readonly (string | number)[]): boolean {
  const last = segments.at(-1);
  const before = segments.at(-2);
  return (
    last === 'if' || last === 'not' || ((before === 'and' || before === 'or') && typeof last === 'number')
  );
}

function describe(err: ErrorObject, segments: readonly (string | number)[]): string {
  const params = err.params as Record<string, unknown>;
  const inCondition = isConditionPath(segments);
  switch (err.keyword) {
    case 'additionalProperties':
      return inCondition
        ? `unknown key "${String(params.additionalProperty)}" in condition (${CONDITION_HINT})`
        : `unknown property "${String(params.additionalProperty)}"`;
    case 'required':
      return inCondition
        ? `not a valid condition (${CONDITION_HINT})`
        : `missing required property "${String(params.missingProperty)}"`;
    case 'minProperties':
      return inCondition
        ? 'condition needs an operator: equals, in, lt, gt or includes'
        : `must have at least ${String(params.limit)} language`;
    case 'maxProperties':
      return 'condition must have exactly one operator (equals, in, lt, gt or includes)';
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'discriminator':
      return params.error === 'mapping'
        ? `unknown step type "${String(params.tagValue)}" (one of: ${STEP_TYPES.join(', ')})`
        : 'missing "type"';
    case 'pattern':
      return 'must be lowercase letters, digits and "_" (starting with a letter)';
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return err.message ?? 'is invalid';
  }
}

const params = (err: ErrorObject) => err.params as Record<string, unknown>;

function pointerSegments(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** `options[0].label` style path (relative to the step when inside one). */
function humanPath(segments: readonly (string | number)[]): string {
  return segments.reduce<string>(
    (acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s),
    '',
  );
}

/** Validates the parsed value against the flow schema. */
export function schemaDiagnostics(parsed: ParsedFlow): Diagnostic[] {
  const validate = schemaValidator();
  if (validate(parsed.value)) return [];
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  const steps = (parsed.value as { steps?: unknown } | null)?.steps;
  for (const err of validate.errors ?? []) {
    // `if` errors only say "must match then/else"; the branch's own error says what is wrong.
    if (err.keyword === 'if') continue;
    const segments = pointerSegments(err.instancePath);
    // A union type error (`next: 3`) is reported once, by the outer `type`.
    if (err.keyword === 'type' && err.schemaPath.includes('/else/type')) continue;
    // An unknown step type is reported once, by the discriminator (which lists the known types).
    if (err.keyword === 'enum' && err.schemaPath === '#/properties/steps/items/properties/type/enum')
      continue;
    let stepId: string | undefined;
    let rel = segments;
    if (segments[0] === 'steps' && typeof segments[1] === 'number') {
      const id = Array.isArray(steps) ? (steps[segments[1]] as { id?: unknown } | undefined)?.id : undefined;
      stepId = typeof id === 'string' ? id : `#${segments[1] + 1}`;
      rel = segments.slice(2);
    }
    const where = humanPath(rel);
    const message = `${where ? `${where}: ` : ''}${describe(err, segments)}`;
    const key = `${err.instancePath}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // Point at the offending key itself when there is one.
    const extra = err.keyword === 'additionalProperties' ? [String(params(err).additionalProperty)] : [];
    out.push({
      file: parsed.file,
      line: parsed.lineOf([...segments, ...extra]),
      stepId,
      message,
      severity: 'error',
    });
  }
  return out;
}

/** The value as a {@link Flow} once {@link schemaDiagnostics} returned nothing. */
export function asFlow(parsed: ParsedFlow): Flow {
  return parsed.value as Flow;
}
