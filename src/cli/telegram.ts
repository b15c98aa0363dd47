/**
 * `intake telegram ...`: registers the bot with Telegram. `set-webhook` points Telegram at
 * PUBLIC_URL + /telegram/webhook with the webhook secret and the update kinds the channel handles, and sets
 * the command menu in French (also the default) and English. Settings come from the environment only.
 */
import type { Command } from 'commander';
import { loadTelegramConfig, registerBot, WEBHOOK_PATH } from '../channels/telegram/index.js';
import { CliError } from './context.js';

export function registerTelegramCommands(program: Command) {
  const telegram = program.command('telegram').description('Telegram bot set-up (webhook, command menus).');
  telegram
    .command('set-webhook')
    .description(
      `Register PUBLIC_URL + ${WEBHOOK_PATH} as the bot's webhook, with the secret, and set the command menus.`,
    )
    .option('--drop-pending', 'drop the updates Telegram queued while no webhook answered', false)
    .addHelpText(
      'after',
      [
        '',
        'Environment: TELEGRAM_BOT_TOKEN (from @BotFather), TELEGRAM_WEBHOOK_SECRET (32+ characters among',
        'A-Z a-z 0-9 _ -, e.g. `openssl rand -hex 32`; the service checks it on every update), PUBLIC_URL',
        '(https, how Telegram reaches this service), TELEGRAM_API_ROOT (optional). Asks Telegram for message,',
        'edited_message, callback_query and my_chat_member updates only. See docs/TELEGRAM.md.',
      ].join('\n'),
    )
    .action(async (opts: { dropPending: boolean }) => {
      const env = process.env;
      const settings = loadTelegramConfig({ ...env, TELEGRAM_MODE: 'webhook' }, 'development');
      if (!settings) throw new CliError('TELEGRAM_BOT_TOKEN is not set (see docs/TELEGRAM.md)', 2);
      const publicUrl = env.PUBLIC_URL;
      if (!publicUrl) throw new CliError('PUBLIC_URL is not set (the https address Telegram will call)', 2);
      let parsed: URL;
      try {
        parsed = new URL(publicUrl);
      } catch {
        throw new CliError('PUBLIC_URL: not a URL', 2);
      }
      if (parsed.protocol !== 'https:') throw new CliError('PUBLIC_URL: Telegram only calls https URLs', 2);
      let url: string;
      try {
        url = await registerBot(settings, publicUrl, { dropPendingUpdates: opts.dropPending });
      } catch (err) {
        // Telegram's own description (e.g. "bad webhook: ...") is safe; the token is never in it.
        const description = (err as { description?: string })?.description;
        throw new CliError(`Telegram refused: ${description ?? (err as Error)?.name ?? 'error'}`);
      }
      process.stdout.write(`webhook set: ${url}\ncommand menus set (default, fr, en)\n`);
    });
}
