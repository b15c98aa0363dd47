/** `intake purge`: apply the retention rules now. */
import type { Command } from 'commander';
import { purge } from '../intake/retention.js';
import { withDatabase } from './context.js';

export function registerPurgeCommand(program: Command) {
  program
    .command('purge')
    .description('Delete expired conversations, old deduplication entries and reports closed past retention.')
    .addHelpText(
      'after',
      '\nRetention is set in config (retention.closedReportDays, default 365; retention.dedupHours, default 48;\nconversations.idleTimeoutMinutes, default 1440). The service also runs this every hour.',
    )
    .action(async () => {
      await withDatabase(async (db, config) => {
        const r = await purge(db, config);
        process.stdout.write(
          `purged: ${r.conversations} conversation(s), ${r.events} deduplication entr${r.events === 1 ? 'y' : 'ies'}, ${r.reports} closed report(s)\n`,
        );
      });
    });
}
