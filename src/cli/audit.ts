/** `intake audit verify`: walk the audit trail's hash chain and print its head. */
import type { Command } from 'commander';
import { pendingMigrations, verifyAuditChain } from '../store/index.js';
import { CliError, withDatabase } from './context.js';

export function registerAuditCommands(program: Command) {
  const audit = program.command('audit').description('The audit trail (a hash chain).');
  audit
    .command('verify')
    .description(
      'Walk the audit chain: exit 0 and print the head hash when it is intact; exit 1 naming the first broken entry.',
    )
    .option(
      '--head <hash>',
      'a head hash written down earlier: also check that this entry is still in the chain',
    )
    .addHelpText(
      'after',
      `
Each audit entry carries the hash of the one before it (SHA-256; docs/SECURITY.md, "Audit trail").
The command recomputes every hash in order and stops at the first entry that fails:
  changed    the entry's fields no longer match its hash (a row was updated)
  deleted    a position is missing (a row was deleted), or entries after the recorded head are gone
  reordered  an entry does not link to the one before it, or positions and row ids disagree
When the chain is intact it prints the head hash and the number of entries: write it down (or compare it
with the one shown in the inbox's administration) and pass it later with --head to prove that the
entries up to it are all still there. Read-only; uses DATABASE_URL or the embedded database.
Exit codes: 0 intact, 1 broken (or --head not found), 2 usage error.`,
    )
    .action(async (opts: { head?: string }) => {
      if (opts.head !== undefined && !/^[0-9a-f]{64}$/.test(opts.head)) {
        throw new CliError('--head must be a 64-character hex hash, as printed by `intake audit verify`', 2);
      }
      await withDatabase(
        async (db) => {
          if ((await pendingMigrations(db)).length > 0) {
            throw new CliError('migrations are pending: run `intake migrate` (as the owner role) first');
          }
          const r = await verifyAuditChain(db, opts.head !== undefined ? { expectedHead: opts.head } : {});
          if (!r.ok) {
            process.stdout.write(
              `audit chain BROKEN at entry ${r.seq}${r.id ? ` (id ${r.id})` : ''}: ${r.problem}: ${r.message}\n` +
                `${r.verified} entr${r.verified === 1 ? 'y' : 'ies'} verified before it\n`,
            );
            process.exitCode = 1;
            return;
          }
          process.stdout.write(
            `audit chain intact: ${r.count} entr${r.count === 1 ? 'y' : 'ies'}\nhead ${r.head}\n`,
          );
          if (r.foundExpectedHead === false) {
            process.stdout.write(
              `the head given with --head is NOT in the chain: entries up to it were removed or rewritten\n`,
            );
            process.exitCode = 1;
          } else if (r.foundExpectedHead) {
            process.stdout.write('the head given with --head is in the chain\n');
          }
        },
        { migrate: false },
      );
    });
}
