/**
 * Configuration: `config/default.yaml`, then the optional `config/local.yaml`, then environment variables
 * for secrets and deployment values. The merged result is validated once with ajv against
 * `config/config.schema.json`; any problem stops the start with one message naming the file, the JSON
 * pointer inside it and what is wrong.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { CONFIG_DIR, ROOT_DIR } from '../paths.js';

export type Urgency = 'normal' | 'high' | 'immediate';
export type FlowKind = 'professional' | 'youth';
export type Lang = 'fr' | 'en';

/** A routing rule: the first rule whose `match` fits a submission chooses its inbox (and may raise urgency). */
export interface RoutingRule {
  inbox: string;
  urgency?: Urgency;
  match?: {
    kind?: FlowKind[];
    flow?: string[];
    urgency?: Urgency[];
    answers?: Record<string, (string | number | boolean)[]>;
  };
}

/** What the YAML files hold once merged and validated. */
export interface FileConfig {
  server: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    requestTimeoutMs: number;
    shutdownTimeoutMs: number;
    trustProxy: boolean;
  };
  rateLimit: { max: number; windowMs: number; readyzPerMinute?: number };
  languages: { default: Lang; available: Lang[] };
  conversations: { idleTimeoutMinutes: number; defaultFlow: string };
  inboxes: { id: string; name: string }[];
  routing: { rules: RoutingRule[] };
  retention: { closedReportDays: number; dedupHours: number; unclosedWarningDays?: number };
  /** The web flow (/chat/) and its public API; every field has a default (see {@link webSettings}). */
  web?: {
    exitUrl?: string;
    reportBodyLimitBytes?: number;
    reportsPerIpPerHour?: number;
    reportsPerMinute?: number;
    keysPerIpPerMinute?: number;
    followUpBodyLimitBytes?: number;
    followUpsPerIpPerHour?: number;
    followUpsPerMinute?: number;
  };
}

/** The web flow's settings with their defaults filled in. */
export function webSettings(config: FileConfig): Required<NonNullable<FileConfig['web']>> {
  return {
    exitUrl: 'https://www.google.fr/',
    reportBodyLimitBytes: 262_144,
    reportsPerIpPerHour: 20,
    reportsPerMinute: 60,
    keysPerIpPerMinute: 60,
    followUpBodyLimitBytes: 65_536,
    followUpsPerIpPerHour: 20,
    followUpsPerMinute: 60,
    ...config.web,
  };
}

/** The whole runtime configuration: files plus environment. */
export interface AppConfig extends FileConfig {
  /**
   * `development` (NODE_ENV unset or `development`) and `test` relax what production refuses; any other
   * value (`production`, `staging`, `prod`, a typo) is treated as production: fail closed.
   */
  nodeEnv: 'production' | 'development' | 'test';
  /** NODE_ENV as given (for messages): `development` when unset. */
  nodeEnvName: string;
  /** PostgreSQL connection string; absent means the embedded database under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** Base64 master key from the environment; absent in development means "generate one in dataDir". */
  masterKey?: string;
  /** Previous master keys still accepted for reading during a rotation (INTAKE_MASTER_KEY_PREVIOUS). */
  masterKeyPrevious?: string[];
  logLevel: string;
  publicUrl?: string;
  redisUrl?: string;
  /**
   * Bearer token for `GET /metrics` (METRICS_TOKEN). When set, the route needs it everywhere; without it the
   * route answers 404 in production and stays open in development and tests.
   */
  metricsToken?: string;
  /** The files that were read, relative to the project root (for messages). */
  files: string[];
}

/** A configuration problem. Its message is safe to print: it never contains a secret value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** Written to be printed: names the file, the pointer or the variable, never a secret value. */
  readonly safeMessage = true;
}

let validateFn: ReturnType<Ajv['compile']> | undefined;
function validator() {
  if (!validateFn) {
    const schema = JSON.parse(readFileSync(join(CONFIG_DIR, 'config.schema.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
    validateFn = ajv.compile(schema);
  }
  return validateFn;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function readYaml(path: string, label: string): Plain {
  const text = readFileSync(path, 'utf8');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  const first = doc.errors[0];
  if (first) {
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new ConfigError(`${label}${line ? `: line ${line}` : ''}: invalid YAML (${first.code})`);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch {
    // e.g. an alias to an anchor that does not exist
    throw new ConfigError(`${label}: invalid YAML (unresolved alias or tag)`);
  }
  if (value === null || value === undefined) return {};
  if (!isPlain(value)) throw new ConfigError(`${label}: /: must be a mapping of sections`);
  return value;
}

/** Objects merge key by key; arrays and scalars from the later file replace the earlier ones. */
function merge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlain(b) && isPlain(v) ? merge(b, v) : v;
  }
  return out;
}

function has(obj: unknown, pointer: string): boolean {
  let cur: unknown = obj;
  for (const part of pointer.split('/').slice(1)) {
    if (!isPlain(cur) && !Array.isArray(cur)) return false;
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!Object.hasOwn(cur as object, key)) return false;
    cur = (cur as Plain)[key];
  }
  return true;
}

function describe(err: ErrorObject): string {
  switch (err.keyword) {
    case 'additionalProperties':
      return `unknown property "${(err.params as { additionalProperty: string }).additionalProperty}"`;
    case 'enum':
      return `must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return err.message ?? 'is invalid';
  }
}

/** Reads an environment integer, or fails with a message naming the variable (never its value). */
function envInt(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`environment ${name}: must be an integer between ${min} and ${max}`);
  }
  return Number(raw);
}

export interface LoadOptions {
  /** Folder holding default.yaml and local.yaml (default: the project's config/). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads and validates the configuration. Throws {@link ConfigError} with one line naming the file, the JSON
 * pointer and the problem.
 */
export function loadConfig(options: LoadOptions = {}): AppConfig {
  const dir = options.dir ?? options.env?.INTAKE_CONFIG_DIR ?? CONFIG_DIR;
  const env = options.env ?? process.env;
  // Paths in messages: relative to the project when inside it, absolute otherwise.
  const label = (name: string) => {
    const rel = relative(ROOT_DIR, join(dir, name));
    return rel.startsWith('..') ? join(dir, name) : rel;
  };
  const defaultPath = join(dir, 'default.yaml');
  if (!existsSync(defaultPath)) throw new ConfigError(`${label('default.yaml')}: file not found`);
  const files = [label('default.yaml')];
  const base = readYaml(defaultPath, label('default.yaml'));
  let local: Plain = {};
  const localPath = join(dir, 'local.yaml');
  if (existsSync(localPath)) {
    local = readYaml(localPath, label('local.yaml'));
    files.push(label('local.yaml'));
  }
  const merged = merge(base, local);
  const owner = (pointer: string) => (has(local, pointer) ? label('local.yaml') : label('default.yaml'));

  const validate = validator();
  if (!validate(merged)) {
    const err = validate.errors![0]!;
    const pointer = err.instancePath || '/';
    throw new ConfigError(`${owner(err.instancePath)}: ${pointer}: ${describe(err)}`);
  }
  const file = merged as unknown as FileConfig;
  // Defaults inside sections come from default.yaml; a section that exists but lacks a key is an error.
  const inboxIds = new Set<string>();
  file.inboxes.forEach((inbox, i) => {
    if (inboxIds.has(inbox.id)) {
      throw new ConfigError(`${owner(`/inboxes/${i}/id`)}: /inboxes/${i}/id: duplicate inbox "${inbox.id}"`);
    }
    inboxIds.add(inbox.id);
  });
  file.routing.rules.forEach((rule, i) => {
    if (!inboxIds.has(rule.inbox)) {
      throw new ConfigError(
        `${owner(`/routing/rules/${i}/inbox`)}: /routing/rules/${i}/inbox: unknown inbox "${rule.inbox}" (known: ${[...inboxIds].join(', ')})`,
      );
    }
  });
  if (!file.languages.available.includes(file.languages.default)) {
    throw new ConfigError(
      `${owner('/languages/default')}: /languages/default: must be one of the available languages`,
    );
  }

  const nodeEnv = nodeEnvOf(env.NODE_ENV);
  const port = envInt(env, 'PORT', 0, 65535);
  const config: AppConfig = {
    ...file,
    server: {
      ...file.server,
      ...(port !== undefined ? { port } : {}),
      ...(env.HOST ? { host: env.HOST } : {}),
    },
    nodeEnv,
    nodeEnvName: env.NODE_ENV?.trim() || 'development',
    dataDir: env.INTAKE_DATA_DIR || join(ROOT_DIR, 'data'),
    logLevel: env.LOG_LEVEL || (nodeEnv === 'test' ? 'silent' : 'info'),
    files,
  };
  if (env.DATABASE_URL) config.databaseUrl = env.DATABASE_URL;
  if (env.INTAKE_MASTER_KEY) config.masterKey = env.INTAKE_MASTER_KEY;
  if (env.INTAKE_MASTER_KEY_PREVIOUS) {
    config.masterKeyPrevious = env.INTAKE_MASTER_KEY_PREVIOUS.split(',')
      .map((k) => k.trim())
      .filter(Boolean);
  }
  if (env.PUBLIC_URL) config.publicUrl = env.PUBLIC_URL;
  if (env.REDIS_URL) config.redisUrl = env.REDIS_URL;
  if (env.METRICS_TOKEN) config.metricsToken = env.METRICS_TOKEN;
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(config.logLevel)) {
    throw new ConfigError(`environment LOG_LEVEL: must be one of ${levels.join(', ')}`);
  }
  return config;
}

/**
 * The mode a NODE_ENV value selects. Only an unset value, `development` and `test` relax the production
 * rules (no authentication for a local Teams emulator, a generated master key, the embedded database); any
 * other value, a typo included, gets every production rule: a deployment that forgot to say `production`
 * fails closed instead of running unauthenticated.
 */
export function nodeEnvOf(value: string | undefined): AppConfig['nodeEnv'] {
  const v = value?.trim() ?? '';
  if (v === '' || v === 'development') return 'development';
  if (v === 'test') return 'test';
  return 'production';
}

/** How a start-time refusal names the mode: `NODE_ENV=production`, or `NODE_ENV=staging (treated as production)`. */
export function modeName(config: Pick<AppConfig, 'nodeEnv' | 'nodeEnvName'>): string {
  return config.nodeEnvName === config.nodeEnv
    ? `NODE_ENV=${config.nodeEnv}`
    : `NODE_ENV=${config.nodeEnvName} (treated as production: only development and test relax these rules)`;
}

/**
 * Production refusals: a production start needs a real database and a master key from the environment.
 * Returns one line saying what is missing and how to make it, or undefined when all is well.
 */
export function productionProblem(config: AppConfig): string | undefined {
  if (config.nodeEnv !== 'production') return undefined;
  const missing: string[] = [];
  if (!config.masterKey) missing.push('INTAKE_MASTER_KEY (make one with `npx intake keygen`)');
  if (!config.databaseUrl) missing.push('DATABASE_URL (a PostgreSQL connection string)');
  if (missing.length === 0) return undefined;
  return `${modeName(config)} needs ${missing.join(' and ')}; refusing to start.`;
}
