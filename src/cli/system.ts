/** `intake keygen` and `intake migrate`. */
import type { Command } from 'commander';
import { sealLegacyCoordinatorSecrets } from '../coordinators/index.js';
import { backfillIntegrity, loadKeyring } from '../intake/index.js';
import { generateMasterKeyBase64, resolveMasterKey } from '../secrets.js';
import { migrate, pendingMigrations } from '../store/index.js';
import { cliKeyring, withDatabase } from './context.js';

export function registerSystemCommands(program: Command) {
  program
    .command('keygen')
    .description('Print a new random master key (32 bytes, base64) for INTAKE_MASTER_KEY.')
    .addHelpText(
      'after',
      '\nStore it in your secret manager; losing it makes in-progress conversations unreadable.\nExample: INTAKE_MASTER_KEY=$(npx intake keygen)',
    )
    .action(() => {
      process.stdout.write(`${generateMasterKeyBase64()}\n`);
    });

  program
    .command('migrate')
    .description(
      "Apply pending database migrations (PostgreSQL at DATABASE_URL, else the embedded database), then seal coordinators' secrets still clear and MAC, once, the memberships that existed before membership MACs (needs the master key).",
    )
    .option('--status', 'only list pending migrations, change nothing')
    .addHelpText(
      'after',
      "\nThe service applies them at start too. With the embedded database and the service running, this goes\nthrough the service's database; each migration is applied once either way.",
    )
    .action(async (opts: { status?: boolean }) => {
      await withDatabase(
        async (db, config) => {
          if (opts.status) {
            const pending = await pendingMigrations(db);
            process.stdout.write(
              pending.length === 0
                ? `up to date (${db.kind})\n`
                : `${pending.map((m) => `pending ${String(m.version).padStart(4, '0')} ${m.name}`).join('\n')}\n`,
            );
            return;
          }
          const applied = await migrate(db);
          // SQL cannot seal: migration 0009's data step runs here (and at every server start).
          const sealed = await sealLegacyCoordinatorSecrets(db, await cliKeyring(config));
          process.stdout.write(
            (applied.length === 0
              ? `up to date (${db.kind})\n`
              : `${applied.map((m) => `applied ${String(m.version).padStart(4, '0')} ${m.name}`).join('\n')}\n`) +
              (sealed > 0 ? `coordinator secrets sealed at rest: ${sealed}\n` : ''),
          );
          // Migration 0011 lists the memberships, keys and replies that existed; MACing them needs the master
          // key. Without it here (production without INTAKE_MASTER_KEY), the service does it at its next start.
          let masterKey: string;
          try {
            masterKey = resolveMasterKey(config).key;
          } catch {
            process.stdout.write(
              'integrity backfill: pending (runs at the next start with the master key)\n',
            );
            return;
          }
          const b = await backfillIntegrity(db, await loadKeyring(masterKey, config.masterKeyPrevious ?? []));
          if (b.members + b.coordinators + b.replies > 0) {
            process.stdout.write(
              `integrity backfill: ${b.members} membership(s), ${b.coordinators} coordinator key set(s), ${b.replies} reply(ies) MACed\n`,
            );
          }
        },
        { migrate: false },
      );
    });
}
