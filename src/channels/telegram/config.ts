/**
 * Telegram settings, read from the environment (secrets never live in config/): the bot token, the webhook
 * secret Telegram echoes in `X-Telegram-Bot-Api-Secret-Token`, an optional API root (tests point it at a
 * local fake Bot API server) and the mode (webhook, or long polling for development without a public URL).
 */
import { ConfigError } from '../../config/index.js';

/** The official Bot API root. */
export const DEFAULT_API_ROOT = 'https://api.telegram.org';

/** The update kinds the channel handles; `set-webhook` and polling ask Telegram for these only. */
export const ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query', 'my_chat_member'] as const;

/** The webhook path (`PUBLIC_URL` + this is what `intake telegram set-webhook` registers). */
export const WEBHOOK_PATH = '/telegram/webhook';

export interface TelegramConfig {
  token: string;
  /** Absent only in development polling mode. */
  webhookSecret?: string;
  /** Normalised: ends with `/` when it has a path, so `{apiRoot}bot{token}/{method}` resolves under it. */
  apiRoot: string;
  mode: 'webhook' | 'polling';
}

const TOKEN_PATTERN = /^\d{1,20}:[A-Za-z0-9_-]{20,100}$/;
// Telegram accepts 1-256 characters among these; we ask for at least 32 so it cannot be guessed.
const SECRET_PATTERN = /^[A-Za-z0-9_-]{32,256}$/;

/** Whether a bot token is configured (the channel is registered only then). */
export function telegramEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.TELEGRAM_BOT_TOKEN);
}

/** Makes `root` usable as a URL base: a root with a path keeps a trailing slash. */
export function normalizeApiRoot(root: string): string {
  let url: URL;
  try {
    url = new URL(root);
  } catch {
    throw new ConfigError('environment TELEGRAM_API_ROOT: must be an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('environment TELEGRAM_API_ROOT: must be an http(s) URL');
  }
  if (url.search || url.hash)
    throw new ConfigError('environment TELEGRAM_API_ROOT: no query string or fragment');
  return url.pathname === '/' ? url.origin : `${url.href.replace(/\/+$/, '')}/`;
}

/**
 * Reads the Telegram settings; undefined when no token is set. Throws {@link ConfigError} (a message that
 * names the variable, never its value) when the token or secret is malformed, or the secret is missing: a
 * webhook without a secret would accept updates from anyone. Development polling needs no secret.
 */
export function loadTelegramConfig(
  env: NodeJS.ProcessEnv = process.env,
  nodeEnv: 'production' | 'development' | 'test' = 'development',
): TelegramConfig | undefined {
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) return undefined;
  if (!TOKEN_PATTERN.test(token)) {
    throw new ConfigError('environment TELEGRAM_BOT_TOKEN: not a bot token (as given by @BotFather)');
  }
  const rawMode = env.TELEGRAM_MODE || 'webhook';
  if (rawMode !== 'webhook' && rawMode !== 'polling') {
    throw new ConfigError('environment TELEGRAM_MODE: must be webhook or polling');
  }
  if (rawMode === 'polling' && nodeEnv === 'production') {
    throw new ConfigError(
      'environment TELEGRAM_MODE: polling is for development; production uses the webhook',
    );
  }
  const secret = env.TELEGRAM_WEBHOOK_SECRET;
  if (!secret && rawMode === 'webhook') {
    throw new ConfigError(
      'environment TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_BOT_TOKEN (make one with `openssl rand -hex 32`)',
    );
  }
  if (secret && !SECRET_PATTERN.test(secret)) {
    throw new ConfigError(
      'environment TELEGRAM_WEBHOOK_SECRET: 32 to 256 characters among A-Z a-z 0-9 _ - (try `openssl rand -hex 32`)',
    );
  }
  return {
    token,
    ...(secret ? { webhookSecret: secret } : {}),
    apiRoot: normalizeApiRoot(env.TELEGRAM_API_ROOT || DEFAULT_API_ROOT),
    mode: rawMode,
  };
}
