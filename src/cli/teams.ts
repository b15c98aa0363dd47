/** `intake teams link | unlink | package`: coordinator notices in Teams and the Teams app package. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createLinkCode, LINK_CODE_TTL_MS } from '../channels/teams/link.js';
import { buildTeamsPackage, TeamsPackageError } from '../channels/teams/package.js';
import { loadKeyring } from '../intake/index.js';
import { resolveMasterKey } from '../secrets.js';
import { deleteTeamsLink, findCoordinatorByLogin } from '../store/index.js';
import { publicHost } from '../webflow/url.js';
import { CliError, withDatabase } from './context.js';

export function registerTeamsCommands(program: Command) {
  const teams = program
    .command('teams')
    .description('Microsoft Teams: coordinator notices and the app package.');

  teams
    .command('link')
    .description(
      `Print a one-time code (valid ${LINK_CODE_TTL_MS / 60_000} minutes) that links a coordinator's Teams chat for new-case notices.`,
    )
    .requiredOption('--login <login>', 'coordinator login')
    .addHelpText(
      'after',
      '\nThe coordinator sends "/lier CODE" (or "/link CODE") to the bot in a private chat. Notices carry only the case reference, the inbox and the urgency.',
    )
    .action(async (opts: { login: string }) => {
      await withDatabase(async (db, config) => {
        const coordinator = await findCoordinatorByLogin(db, opts.login);
        if (!coordinator || coordinator.disabled_at) {
          throw new CliError(`no active coordinator with login "${opts.login}"`, 1);
        }
        const { key } = resolveMasterKey(config);
        const keyring = await loadKeyring(key, config.masterKeyPrevious ?? []);
        const { code, expiresAt } = await createLinkCode(db, keyring, coordinator.id);
        process.stdout.write(
          `Code: ${code}\nValid until ${expiresAt.toISOString()} (15 minutes), once.\nIn a private chat with the bot in Teams, send: /lier ${code}\n`,
        );
      });
    });

  teams
    .command('unlink')
    .description("Remove a coordinator's Teams link (no more notices in Teams).")
    .requiredOption('--login <login>', 'coordinator login')
    .action(async (opts: { login: string }) => {
      await withDatabase(async (db) => {
        const coordinator = await findCoordinatorByLogin(db, opts.login);
        if (!coordinator) throw new CliError(`no coordinator with login "${opts.login}"`, 1);
        const removed = await deleteTeamsLink(db, coordinator.id);
        process.stdout.write(removed ? 'Teams link removed.\n' : 'No Teams link for this coordinator.\n');
      });
    });

  teams
    .command('package')
    .description('Write the Teams app package (manifest.json with the app id, and the two icons) as a zip.')
    .option('--out <file>', 'output file', 'intake-teams.zip')
    .option('--app-id <id>', 'the Azure Bot Microsoft App ID (default: MicrosoftAppId from the environment)')
    .option(
      '--public-url <url>',
      "the service's https address, listed in validDomains so Teams opens the encrypted dialog (default: PUBLIC_URL)",
    )
    .addHelpText(
      'after',
      '\nUpload the zip in Teams: Apps > Manage your apps > Upload an app (see docs/TEAMS.md).\n' +
        'Without an https public address the package works, but the encrypted dialog is not offered.',
    )
    .action((opts: { out: string; appId?: string; publicUrl?: string }) => {
      const appId = (opts.appId ?? process.env.MicrosoftAppId ?? '').trim();
      if (!appId) throw new CliError('the app id is required: set MicrosoftAppId or pass --app-id', 2);
      const publicUrl = (opts.publicUrl ?? process.env.PUBLIC_URL ?? '').trim();
      if (publicUrl && !publicHost(publicUrl)) {
        throw new CliError(`the public address must be an https URL (got a value that is not)`, 2);
      }
      let zipped: Buffer;
      try {
        zipped = buildTeamsPackage(appId, publicUrl ? { publicUrl } : {});
      } catch (err) {
        if (err instanceof TeamsPackageError) throw new CliError(err.message, 2);
        throw err;
      }
      const out = resolve(opts.out);
      writeFileSync(out, zipped);
      process.stdout.write(`Wrote ${out} (${zipped.length} bytes)\n`);
      if (!publicUrl) {
        process.stdout.write(
          'No PUBLIC_URL: the encrypted dialog is not listed (validDomains empty); the chat works.\n',
        );
      }
    });
}
