/**
 * A lean transport for telegraf's Bot API calls (issue 16). telegraf stays the Telegram library: its
 * `Telegram` methods build the payloads, its errors (`TelegramError`) are thrown as before; only the HTTP
 * request underneath changes. telegraf's own transport goes through node-fetch (a Request, Headers and a body
 * stream per call, gzip negotiation, a `URL` parse); this one is one `http.request` on a keep-alive agent
 * with the JSON body written at once, and the response read as one buffer. Calls that carry files (never
 * made by the channel today) still go through telegraf's transport.
 */
import http from 'node:http';
import https from 'node:https';
import type { Telegram } from 'telegraf';
import { TelegramError } from 'telegraf';

/** The longest a Bot API call may take before it fails as a network error (telegraf's is 500 s). */
const CALL_TIMEOUT_MS = 60_000;

type CallApi = Telegram['callApi'];

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
 * Replaces the transport of `telegram` (its `callApi`) with a keep-alive `http.request`. `agent` defaults to
 * a keep-alive agent for the API root's protocol.
 */
export function useLeanTransport(
  telegram: Telegram,
  config: { token: string; apiRoot: string; agent?: http.Agent },
): void {
  const root = new URL(config.apiRoot);
  const secure = root.protocol === 'https:';
  const request = secure ? https.request : http.request;
  const agent =
    config.agent ??
    (secure
      ? new https.Agent({ keepAlive: true, keepAliveMsecs: 10_000 })
      : new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000 }));
  const base = `${root.pathname.replace(/\/+$/, '')}/bot${config.token}/`;
  const original: CallApi = telegram.callApi.bind(telegram);

  const lean = (method: string, payload: object): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const body = callBody(payload);
      const req = request(
        {
          agent,
          protocol: root.protocol,
          hostname: root.hostname,
          port: root.port || (secure ? 443 : 80),
          path: `${base}${method}`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
          timeout: CALL_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 500) {
              reject(
                new TelegramError(
                  { error_code: status, description: res.statusMessage ?? 'Bad Gateway' },
                  { method, payload },
                ),
              );
              return;
            }
            let data: { ok?: boolean; result?: unknown; error_code?: number; description?: string };
            try {
              data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch (err) {
              reject(err);
              return;
            }
            if (!data.ok) {
              reject(
                new TelegramError(
                  data as { error_code: number; description: string },
                  {
                    method,
                    payload,
                  } as never,
                ),
              );
              return;
            }
            resolve(data.result);
          });
        },
      );
      // The error never names the request's path: it holds the token.
      req.on('timeout', () => req.destroy(new Error(`Bot API call ${method} timed out`)));
      req.on('error', reject);
      req.end(body);
    });

  telegram.callApi = ((method: string, payload: object, extra?: { signal?: unknown }) =>
    extra?.signal || carriesFile(payload)
      ? original(method as never, payload as never, extra as never)
      : lean(method, payload)) as CallApi;
}
