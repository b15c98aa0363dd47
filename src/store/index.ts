/**
 * Storage: opening the configured database and the migrations. The only folder that speaks SQL.
 */
import type { AppConfig } from '../config/index.js';
import { openCommandEmbedded, openServiceEmbedded } from './datadir.js';
import type { Database } from './db.js';
import { openPostgres } from './postgres.js';

export { DatabaseBusyError } from './datadir.js';
export type { Database, Queryable, QueryOptions, Transaction } from './db.js';
export { DatabaseUnavailableError, isUnavailable } from './db.js';
export { openEmbedded } from './embedded.js';
export { appliedVersions, listMigrations, migrate, pendingMigrations } from './migrate.js';
export { openPostgres } from './postgres.js';

export interface OpenOptions {
  /**
   * Who opens the embedded database: the service owns it and shares it on a socket; a command uses the
   * service's socket when the service runs, else owns it for its run (see datadir.ts).
   */
  as: 'service' | 'command';
  onError?: (err: Error) => void;
  /** The service: told when it cannot share the embedded database with commands (a warning to log). */
  onNotShared?: (reason: string) => void;
}

/**
 * Opens PostgreSQL when `databaseUrl` is set, else the embedded database under `dataDir/pgdata` with its one
 * owner. Throws DatabaseBusyError when another process holds the embedded database and does not share it.
 */
export async function openDatabase(
  config: Pick<AppConfig, 'databaseUrl' | 'dataDir'>,
  options: OpenOptions,
): Promise<Database> {
  const { onError, onNotShared } = options;
  if (config.databaseUrl) {
    return openPostgres({ connectionString: config.databaseUrl, ...(onError ? { onError } : {}) });
  }
  return options.as === 'service'
    ? openServiceEmbedded(config.dataDir, {
        ...(onError ? { onError } : {}),
        ...(onNotShared ? { onNotShared } : {}),
      })
    : openCommandEmbedded(config.dataDir, onError ? { onError } : {});
}
export * from './audit.js';
export * from './conversations.js';
export * from './coordinators.js';
export * from './events.js';
export * from './followups.js';
export * from './inbox.js';
export * from './invitations.js';
export * from './outbox.js';
export * from './reports.js';
export * from './teams.js';
export * from './trail.js';
