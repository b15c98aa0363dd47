/**
 * The Telegram channel (the only folder that imports telegraf): the webhook plugin, the bot factory used
 * by `intake telegram set-webhook`, and the settings read from the environment.
 */
export { TelegramChannel } from './channel.js';
export {
  ALLOWED_UPDATES,
  DEFAULT_API_ROOT,
  loadTelegramConfig,
  normalizeApiRoot,
  type TelegramConfig,
  telegramEnabled,
  WEBHOOK_PATH,
} from './config.js';
export { createBot, type TelegramPluginOptions, telegramChannel } from './plugin.js';
export { registerBot } from './setup.js';
