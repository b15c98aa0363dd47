/**
 * A lean transport for telegraf's Bot API calls (issue 16). telegraf stays the Telegram library: its
 * `Telegram` methods build the payloads, its errors (`TelegramError`) are thrown as before; only the HTTP
 * request underneath changes. telegraf's own transport goes through node-fetch (a Request, Headers and a body
 * stream per call, gzip negotiation, a `URL` parse); this one is one request on undici's keep-alive pool
 * (measured in docs/PERFORMANCE.md: about a third less CPU a call than node:http's client) with the JSON
 * body written at once, and the response read as one text. Calls that carry files (never made by the
 * channel today) still go through telegraf's transport.
 */
import { setMaxListeners } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { Telegram } from 'telegraf';
import { TelegramError } from 'telegraf';
import { Pool } from 'undici';

/** The longest a Bot API call may take before it fails as a network error (telegraf's is 500 s). */
const CALL_TIMEOUT_MS = 60_000;
/**
 * Calls made within this long of each other share one deadline (one timer and one signal, instead of an
 * `AbortSignal.timeout` a call: each kept a timer and its objects alive for the whole timeout, which under
 * load made garbage for the old generation's collector). A call is then bounded by the timeout plus at most
 * this much. A twentieth of the timeout when that is shorter (tests use short timeouts).
 */
const DEADLINE_WINDOW_MAX_MS = 1_000;
/** Connections kept open to the Bot API at most; calls beyond wait for one in the pool. */
const MAX_CONNECTIONS = 128;
/** A Bot API answer larger than this is refused (they are a few hundred bytes). */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** At shutdown, calls still in flight get this long before their connections are cut. */
const CLOSE_GRACE_MS = 5_000;

type CallApi = Telegram['callApi'];

/**
 * Deadlines for calls: the calls made in one window share a signal that aborts, as `AbortSignal.timeout`
 * would (a `TimeoutError`), once the timeout has passed since the window ended.
 */
export class SharedDeadlines {
  private current: { until: number; signal: AbortSignal } | undefined;
  private readonly windowMs: number;

  constructor(private readonly timeoutMs: number) {
    this.windowMs = Math.max(1, Math.min(DEADLINE_WINDOW_MAX_MS, Math.floor(timeoutMs / 20)));
  }

  /** The signal of a call made now: aborted between `timeoutMs` and `timeoutMs` + the window from now. */
  signal(): AbortSignal {
    const now = performance.now();
    if (this.current && now < this.current.until) return this.current.signal;
    const controller = new AbortController();
    // Every call in flight of the window listens to it (undici removes its listener when the call ends).
    setMaxListeners(0, controller.signal);
    const timer = setTimeout(
      () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      this.timeoutMs + this.windowMs,
    );
    timer.unref();
    this.current = { until: now + this.windowMs, signal: controller.signal };
    return controller.signal;
  }
}

/** Whether a payload carries a file (an `InputFile` with a source or a URL): telegraf sends those as forms. */
function carriesFile(payload: object): boolean {
  const isFile = (v: unknown) =>
    typeof v === 'object' &&
    v !== null &&
    (Boolean((v as { source?: unknown }).source) || Boolean((v as { url?: unknown }).url));
  return Object.entries(payload).some(([key, value]) => {
    if (key === 'link_preview_options' || key === 'reply_markup') return false;
    if (Array.isArray(value)) return value.some((item) => isFile((item as { media?: unknown })?.media));
    return isFile(value) || isFile((value as { media?: unknown } | null)?.media);
  });
}

// telegraf drops null and undefined fields from the JSON it sends.
function replacer(_key: string, value: unknown) {
  return value === null ? undefined : value;
}

/** Whether a payload holds a null anywhere (rare): only then is the slower replacer pass needed. */
function holdsNull(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsNull(item)) return true;
    return false;
  }
  for (const key in value) if (holdsNull((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** The JSON body of a call: a replacer function takes V8 off its fast serializer, so it runs only if needed. */
export function callBody(payload: object): Buffer {
  return Buffer.from(
    holdsNull(payload) ? JSON.stringify(payload, replacer) : JSON.stringify(payload),
    'utf8',
  );
}

/**
 * Replaces the transport of `telegram` (its `callApi`) with undici's connection pool for the API root: a
 * keep-alive pool, the JSON body written at once, the response read as one text (1 MiB at most), each call
 * bounded by 60 s from the moment it is made (at most 1 s more: `SharedDeadlines`). Returns a function that
 * closes the pool (the channel calls it when the service stops): calls in flight get 5 s to end, then the
 * connections are cut.
 */
export function useLeanTransport(
  telegram: Telegram,
  config: {
    token: string;
    apiRoot: string;
    /** Longest a call may take, waiting for a connection included (default 60 s). */
    callTimeoutMs?: number;
    /** At shutdown, how long calls in flight may still take (default 5 s). */
    closeGraceMs?: number;
    /** Connections to the Bot API at most (default 128). */
    maxConnections?: number;
  },
): () => Promise<void> {
  const callTimeoutMs = config.callTimeoutMs ?? CALL_TIMEOUT_MS;
  const closeGraceMs = config.closeGraceMs ?? CLOSE_GRACE_MS;
  const root = new URL(config.apiRoot);
  const pool = new Pool(root.origin, {
    connections: config.maxConnections ?? MAX_CONNECTIONS,
    headersTimeout: callTimeoutMs,
    bodyTimeout: callTimeoutMs,
    keepAliveTimeout: 10_000,
    maxResponseSize: MAX_RESPONSE_BYTES,
  });
  const base = `${root.pathname.replace(/\/+$/, '')}/bot${config.token}/`;
  const deadlines = new SharedDeadlines(callTimeoutMs);
  const original: CallApi = telegram.callApi.bind(telegram);

  const lean = async (method: string, payload: object): Promise<unknown> => {
    const body = callBody(payload);
    let status: number;
    let text: string;
    try {
      const res = await pool.request({
        path: `${base}${method}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        body,
        // The whole call, waiting for a connection included (the pool's timeouts start once connected).
        signal: deadlines.signal(),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      // The error never names the request's path (it holds the token); it keeps the network cause's code.
      const { code, name } = err as { code?: unknown; name?: unknown };
      const named = typeof code === 'string' ? code : typeof name === 'string' ? name : undefined;
      const failed: Error & { code?: string } = new Error(
        `Bot API call ${method} failed${named ? ` (${named})` : ''}`,
      );
      if (named) failed.code = named;
      throw failed;
    }
    if (status >= 500) {
      throw new TelegramError({ error_code: status, description: STATUS_CODES[status] ?? 'Bad Gateway' }, {
        method,
        payload,
      } as never);
    }
    const data = JSON.parse(text) as {
      ok?: boolean;
      result?: unknown;
      error_code?: number;
      description?: string;
    };
    if (!data.ok) {
      throw new TelegramError(
        data as { error_code: number; description: string },
        {
          method,
          payload,
        } as never,
      );
    }
    return data.result;
  };

  telegram.callApi = ((method: string, payload: object, extra?: { signal?: unknown }) =>
    extra?.signal || carriesFile(payload)
      ? original(method as never, payload as never, extra as never)
      : lean(method, payload)) as CallApi;
  return async () => {
    // Calls in flight may end within the grace; then the connections are cut (shutdown has its own limit).
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), closeGraceMs);
      timer.unref();
    });
    const closed = await Promise.race([pool.close().then(() => 'closed' as const), graceOver]);
    clearTimeout(timer);
    if (closed === 'late') await pool.destroy();
  };
}
