/**
 * Registering the bot with Telegram (`intake telegram set-webhook`): the webhook URL with its secret and
 * the update kinds we handle, and the command menu in French (also the default) and English.
 */
import { ALLOWED_UPDATES, type TelegramConfig, WEBHOOK_PATH } from './config.js';
import { createBot } from './plugin.js';
import { TEXTS } from './texts.js';

/** Sets the webhook to `publicUrl` + /telegram/webhook and the command menus; returns the webhook URL. */
export async function registerBot(
  config: TelegramConfig,
  publicUrl: string,
  options: { dropPendingUpdates?: boolean } = {},
): Promise<string> {
  if (!config.webhookSecret) throw new Error('registerBot: a webhook secret is required');
  const url = `${publicUrl.replace(/\/+$/, '')}${WEBHOOK_PATH}`;
  const { bot, close } = createBot(config);
  try {
    await bot.telegram.setWebhook(url, {
      secret_token: config.webhookSecret,
      allowed_updates: [...ALLOWED_UPDATES],
      drop_pending_updates: options.dropPendingUpdates ?? false,
      max_connections: 40,
    });
    await bot.telegram.setMyCommands(TEXTS.fr.commands);
    await bot.telegram.setMyCommands(TEXTS.fr.commands, { language_code: 'fr' });
    await bot.telegram.setMyCommands(TEXTS.en.commands, { language_code: 'en' });
  } finally {
    await close();
  }
  return url;
}
