/** `intake keygen` and `intake migrate`. */
import type { Command } from 'commander';
import { generateMasterKeyBase64 } from '../secrets.js';
import { migrate, pendingMigrations } from '../store/index.js';
import { withDatabase } from './context.js';

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
      'Apply pending database migrations (PostgreSQL at DATABASE_URL, else the embedded database).',
    )
    .option('--status', 'only list pending migrations, change nothing')
    .action(async (opts: { status?: boolean }) => {
      await withDatabase(
        async (db) => {
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
          process.stdout.write(
            applied.length === 0
              ? `up to date (${db.kind})\n`
              : `${applied.map((m) => `applied ${String(m.version).padStart(4, '0')} ${m.name}`).join('\n')}\n`,
          );
        },
        { migrate: false },
      );
    });
}
