/**
 * What the Teams route needs around botbuilder without loading it: an express-like response object over
 * which `CloudAdapter.process` answers, and the routing of botbuilder's `console.error`/`console.warn`
 * calls into the structured log (type only: botbuilder prints errors whole, and an error can quote a token
 * or a payload).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyBaseLogger as Logger } from 'fastify';

/** What `CloudAdapter.process` answered, recorded by {@link ResponseShim}. */
export interface RecordedResponse {
  status: number;
  body?: unknown;
  headers: Record<string, string>;
  ended: boolean;
}

/**
 * The express-like response `CloudAdapter.process` writes to (status, header, send, end). It only
 * records: the route answers through Fastify once `process` resolves, so Fastify's hooks, error handler
 * and logging apply as for any route.
 */
export class ResponseShim {
  readonly recorded: RecordedResponse = { status: 200, headers: {}, ended: false };
  /** botbuilder's zod schema checks that the property exists; nothing reads it. */
  readonly socket: unknown = null;
  status(code: number): this {
    this.recorded.status = code;
    return this;
  }
  header(name: string, value: unknown): this {
    this.recorded.headers[name.toLowerCase()] = String(value);
    return this;
  }
  send(body?: unknown): this {
    if (body !== undefined) this.recorded.body = body;
    return this;
  }
  end(): this {
    this.recorded.ended = true;
    return this;
  }
}

// The request logger of the Teams request being processed, if any (see routeConsole).
const current = new AsyncLocalStorage<Logger>();
let installed = false;

function errorType(args: unknown[]): string {
  const err = args.find((a) => a instanceof Error) as Error | undefined;
  if (err) return err.name || 'Error';
  return typeof args[0] === 'string' ? 'message' : typeof args[0];
}

/**
 * Replaces `console.error` and `console.warn` once per process with versions that, inside a Teams
 * request, write one structured line (kind of the error, never its text) to the request's logger, and
 * outside of one behave as before.
 */
function routeConsole(): void {
  if (installed) return;
  installed = true;
  const original = { error: console.error.bind(console), warn: console.warn.bind(console) };
  for (const level of ['error', 'warn'] as const) {
    console[level] = (...args: unknown[]) => {
      const log = current.getStore();
      if (!log) {
        original[level](...args);
        return;
      }
      log.warn({ errType: errorType(args), source: 'botbuilder' }, `botbuilder ${level} (text withheld)`);
    };
  }
}

/** Runs `fn` with botbuilder's console output routed to `log`. */
export function withBotbuilderLogs<T>(log: Logger, fn: () => Promise<T>): Promise<T> {
  routeConsole();
  return current.run(log, fn);
}
