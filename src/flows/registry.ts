/**
 * Every loaded flow, by id and version. Conversations are pinned to the flow version they started on, so
 * the registry keeps old versions too (`flows/archive/<id>.v<N>.yaml`) and `get(id, version)` finds them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { normalize } from '../engine/commands.js';
import type { Flow } from '../engine/types.js';
import { FLOWS_DIR } from '../paths.js';
import { checkFlow } from './check.js';
import { type Diagnostic, FlowError, readFlowFile } from './load.js';

/** Options of {@link FlowRegistry.load}. */
export interface RegistryOptions {
  /** Folder holding `*.yaml` and `archive/*.yaml` (default: the project's `flows/`). */
  dir?: string;
  /** Id of the flow used when a /start payload selects none (default: `youth` when present). */
  defaultFlow?: string;
}

/** The flow files of a folder: `dir/*.yaml` then `dir/archive/*.yaml`, sorted. */
export function flowFiles(dir: string = FLOWS_DIR): string[] {
  const list = (d: string) =>
    existsSync(d)
      ? readdirSync(d)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(d, f))
      : [];
  return [...list(dir), ...list(join(dir, 'archive'))];
}

/** Loads one flow file; throws {@link FlowError} listing every problem. */
export function loadFlowFile(path: string): Flow {
  const parsed = readFlowFile(path);
  const diagnostics = checkFlow(parsed, { fileName: basename(path) }).filter((d) => d.severity === 'error');
  if (diagnostics.length > 0) throw new FlowError(diagnostics);
  return parsed.value as Flow;
}

/** The loaded flows, by id and version. */
export class FlowRegistry {
  private readonly byKey = new Map<string, Flow>();
  private readonly latestById = new Map<string, Flow>();
  private readonly aliasToId = new Map<string, string>();
  private readonly defaultId: string;

  /**
   * Builds a registry from flows already loaded and checked. Throws {@link FlowError} when two flows have the
   * same id and version, when an alias selects two flows, or when the default flow is missing.
   */
  constructor(flows: readonly Flow[], defaultFlow?: string) {
    const problems: Diagnostic[] = [];
    const problem = (message: string) =>
      problems.push({ file: 'flows', line: 1, message, severity: 'error' });
    for (const flow of flows) {
      const key = `${flow.id}@${flow.version}`;
      if (this.byKey.has(key)) problem(`flow "${flow.id}" version ${flow.version} is defined twice`);
      this.byKey.set(key, flow);
      const latest = this.latestById.get(flow.id);
      if (!latest || latest.version < flow.version) this.latestById.set(flow.id, flow);
    }
    for (const flow of this.latestById.values()) {
      for (const alias of [flow.id, ...(flow.aliases ?? [])].map(normalize)) {
        const other = this.aliasToId.get(alias);
        if (other && other !== flow.id) problem(`alias "${alias}" selects both "${other}" and "${flow.id}"`);
        else this.aliasToId.set(alias, flow.id);
      }
    }
    const fallback = this.latestById.has('youth') ? 'youth' : [...this.latestById.keys()].sort()[0];
    this.defaultId = defaultFlow ?? fallback ?? '';
    if (!this.latestById.has(this.defaultId)) {
      problem(this.defaultId ? `default flow "${this.defaultId}" is not loaded` : 'no flow is loaded');
    }
    if (problems.length > 0) throw new FlowError(problems);
  }

  /** Loads and checks every flow file of `dir` (and `dir/archive`); throws {@link FlowError} on any error. */
  static load(options: RegistryOptions = {}): FlowRegistry {
    const flows: Flow[] = [];
    const errors: Diagnostic[] = [];
    for (const file of flowFiles(options.dir ?? FLOWS_DIR)) {
      try {
        flows.push(loadFlowFile(file));
      } catch (err) {
        if (err instanceof FlowError) errors.push(...err.diagnostics);
        else throw err;
      }
    }
    if (errors.length > 0) throw new FlowError(errors);
    return new FlowRegistry(flows, options.defaultFlow);
  }

  /** The exact version a conversation was started on, if still loaded. */
  get(id: string, version: number): Flow | undefined {
    return this.byKey.get(`${id}@${version}`);
  }

  /** The newest version of a flow. */
  latest(id: string): Flow | undefined {
    return this.latestById.get(id);
  }

  /** The flow a /start payload selects (its id or one of its aliases, any case or accents), if any. */
  byAlias(payload: string | undefined): Flow | undefined {
    if (!payload) return undefined;
    const id = this.aliasToId.get(normalize(payload));
    return id === undefined ? undefined : this.latestById.get(id);
  }

  /** The flow used when nothing selects one. */
  default(): Flow {
    return this.latestById.get(this.defaultId) as Flow;
  }

  /** The newest version of every flow, sorted by id. */
  list(): Flow[] {
    return [...this.latestById.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Every loaded version of a flow, ascending. */
  versions(id: string): number[] {
    return [...this.byKey.values()]
      .filter((f) => f.id === id)
      .map((f) => f.version)
      .sort((a, b) => a - b);
  }
}
