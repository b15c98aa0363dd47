/**
 * Storage: opening the configured database and the migrations. The only folder that speaks SQL.
 */
import { join } from 'node:path';
import type { AppConfig } from '../config/index.js';
import type { Database } from './db.js';
import { openEmbedded } from './embedded.js';
import { openPostgres } from './postgres.js';

export type { Database, Queryable, Transaction } from './db.js';
export { DatabaseUnavailableError, isUnavailable } from './db.js';
export { openEmbedded } from './embedded.js';
export { appliedVersions, listMigrations, migrate, pendingMigrations } from './migrate.js';
export { openPostgres } from './postgres.js';

/** Opens PostgreSQL when `databaseUrl` is set, else the embedded database under `dataDir/pgdata`. */
export async function openDatabase(
  config: Pick<AppConfig, 'databaseUrl' | 'dataDir'>,
  onError?: (err: Error) => void,
): Promise<Database> {
  if (config.databaseUrl) {
    return openPostgres({ connectionString: config.databaseUrl, ...(onError ? { onError } : {}) });
  }
  return openEmbedded(join(config.dataDir, 'pgdata'));
}
export * from './audit.js';
export * from './conversations.js';
export * from './coordinators.js';
export * from './events.js';
export * from './inbox.js';
export * from './invitations.js';
export * from './outbox.js';
export * from './reports.js';
export * from './teams.js';
export * from './trail.js';
