/**
 * Structured logging with pino. Logs carry ids and timings, never content: request and response bodies,
 * message text, answers, names, secrets and secret-bearing headers are redacted wherever they appear, and
 * error messages are dropped unless the error declares its message safe (see {@link SafeError}).
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

/** An error whose message was written to be shown and logged: it never contains content or secrets. */
export class SafeError extends Error {
  /** Marks the message as safe to log. */
  readonly safeMessage = true;
  constructor(
    message: string,
    readonly statusCode = 500,
    readonly code = 'INTAKE_ERROR',
  ) {
    super(message);
    this.name = 'SafeError';
  }
}

// Keys that may carry content or secrets, at any of the first levels of a log object.
const SENSITIVE = [
  'body',
  'text',
  'answers',
  'payload',
  'message_text',
  'caption',
  'from',
  'chat',
  'username',
  'first_name',
  'last_name',
  'phone',
  'passphrase',
  'password',
  'token',
  'secret',
  'receipt',
  'masterKey',
  'loginKey',
  'wrapKey',
  'privateKey',
  'cookie',
  'authorization',
];

/** Redaction paths: the sensitive keys at top level and one or two levels down, plus request headers. */
export const REDACT_PATHS = [
  ...SENSITIVE,
  ...SENSITIVE.map((k) => `*.${k}`),
  ...SENSITIVE.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-telegram-bot-api-secret-token"]',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
];

interface ErrLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  stack?: string;
  safeMessage?: boolean;
  validation?: unknown;
}

/**
 * Error serializer: keeps the type, code, status and stack frames; keeps the message only for errors that
 * declare it safe. A JSON parse error, for instance, quotes the body it failed on.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { type: typeof err };
  const e = err as ErrLike;
  const out: Record<string, unknown> = { type: e.name ?? 'Error' };
  if (e.code) out.code = e.code;
  if (e.statusCode) out.statusCode = e.statusCode;
  if (e.safeMessage) out.message = e.message;
  if (typeof e.stack === 'string') {
    // The first line of a stack repeats the message: drop it, keep the frames.
    out.stack = e.stack
      .split('\n')
      .filter((l) => l.trimStart().startsWith('at '))
      .slice(0, 12)
      .join('\n');
  }
  return out;
}

interface ReqLike {
  id?: string;
  method?: string;
  url?: string;
  routeOptions?: { url?: string };
}

export interface LoggerSettings {
  level: string;
  /** Pretty, human-readable lines (a terminal in development); JSON otherwise. */
  pretty?: boolean;
  /** Where to write (tests capture the output); default stdout. */
  destination?: DestinationStream;
}

/** pino options shared by the service and the CLI. */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: serializeError,
      error: serializeError,
      // The route pattern, not the raw URL: a path or query string could carry an identifier.
      req: (req: ReqLike) => ({
        id: req.id,
        method: req.method,
        route: req.routeOptions?.url ?? (req.url ? '[no route]' : undefined),
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    base: { service: 'intake' },
  };
}

/** Creates the process logger. */
export function createLogger(settings: LoggerSettings): Logger {
  const options = loggerOptions(settings.level);
  if (settings.destination) return pino(options, settings.destination);
  if (settings.pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } },
    });
  }
  // Asynchronous writes to stdout: lines written while a write is in flight go out together (one write
  // instead of one per line under load). pino flushes what is left when the process exits; only a kill -9
  // can lose the lines of the last instant.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

/** The methods Fastify checks a request's logger has (and calls): they exist before the child is made. */
const LOG_METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent', 'child'] as const;

/** What a request's lazy logger holds, under symbol keys of its proxy's target (no own string keys). */
const PARENT = Symbol('parent');
const BINDINGS = Symbol('bindings');
const OPTIONS = Symbol('options');
const CHILD = Symbol('child');
/** The key through which a lazy logger's shared methods reach the state of the logger they are called on. */
const TARGET = Symbol('target');
interface LazyTarget {
  [PARENT]: Logger;
  [BINDINGS]: Record<string, unknown>;
  [OPTIONS]: { level?: string } & Record<string, unknown>;
  [CHILD]: Logger | undefined;
}

function realChild(target: LazyTarget): Logger {
  target[CHILD] ??= target[PARENT].child(target[BINDINGS], target[OPTIONS]);
  return target[CHILD];
}

/**
 * The lazy logger's methods, shared by every request: each finds its request's state through `this` (the
 * logger it is called on, as pino's own methods do).
 */
type Lazy = { [TARGET]: LazyTarget };
const LAZY_METHODS = new Map<PropertyKey, (this: Lazy, ...args: never[]) => unknown>();
for (const name of LOG_METHODS) {
  LAZY_METHODS.set(name, function (this: Lazy, ...args: unknown[]) {
    const real = realChild(this[TARGET]);
    return (real[name] as (...a: unknown[]) => unknown).apply(real, args);
  });
}
LAZY_METHODS.set('isLevelEnabled', function (this: Lazy, level: string) {
  const target = this[TARGET];
  const child = target[CHILD];
  if (child) return child.isLevelEnabled(level);
  const parent = target[PARENT];
  const values = parent.levels.values;
  const own = values[target[OPTIONS].level ?? parent.level];
  const asked = values[level as never];
  return own !== undefined && asked !== undefined && asked >= own;
} as (this: Lazy, ...args: never[]) => unknown);

const LAZY_HANDLER: ProxyHandler<LazyTarget> = {
  get(target, prop) {
    if (prop === TARGET) return target;
    const method = LAZY_METHODS.get(prop);
    if (method) return method;
    const c = realChild(target);
    const value = Reflect.get(c, prop, c);
    return typeof value === 'function' ? value.bind(c) : value;
  },
  set(target, prop, value) {
    return Reflect.set(realChild(target), prop, value);
  },
  has(target, prop) {
    return LAZY_METHODS.has(prop) || Reflect.has(realChild(target), prop);
  },
  ownKeys() {
    return [];
  },
  getOwnPropertyDescriptor() {
    return undefined;
  },
};

/**
 * Fastify's `childLoggerFactory`: a request's logger (bound to its request id) made on its first use only.
 * Most requests never log through it (the "request completed" line has its own logger), and making a pino
 * child runs the redaction pass over its bindings: a measurable share of a webhook turn's CPU. Anything
 * other than the log methods and `isLevelEnabled` (a property, `bindings()`, ...) makes the child at once.
 * Two small objects a request (the state and its proxy; the handler and the methods are shared): this runs
 * on every request, and under load its objects outlived young-generation collections.
 */
export function lazyRequestLogger(
  parent: Logger,
  bindings: Record<string, unknown>,
  options: { level?: string } & Record<string, unknown>,
): Logger {
  const target: LazyTarget = {
    [PARENT]: parent,
    [BINDINGS]: bindings,
    [OPTIONS]: options,
    [CHILD]: undefined,
  };
  return new Proxy(target, LAZY_HANDLER) as unknown as Logger;
}
