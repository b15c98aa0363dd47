/**
 * Shared plumbing of the `intake` CLI: loading the configuration and the database for a command, and the
 * error type whose message is printed as is (no content, no secret) with an exit code.
 */

import type { AppConfig } from '../config/index.js';
import { loadConfig } from '../config/index.js';
import { sealLegacyCoordinatorSecrets } from '../coordinators/index.js';
import { type Keyring, loadKeyring } from '../intake/index.js';
import { resolveMasterKey } from '../secrets.js';
import {
  type Database,
  DatabaseBusyError,
  DatabaseUnavailableError,
  migrate,
  openDatabase,
} from '../store/index.js';

/** A failure the CLI reports in one line with this exit code (1 failure, 2 usage). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Loads the configuration and opens the database for one command (applying pending migrations, as the
 * server does at start); closes it when `fn` is done. The embedded database is the running service's, through
 * its socket, or this command's own for its run (see src/store/datadir.ts); a directory held by another
 * command for longer than the wait is a one-line error. Ctrl-C and SIGTERM close the database (the embedded
 * one's lock is released) before exiting.
 */
export async function withDatabase<T>(
  fn: (db: Database, config: AppConfig) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  let db: Database;
  try {
    db = await openDatabase(config, { as: 'command' });
  } catch (err) {
    if (err instanceof DatabaseBusyError) throw new CliError(err.message, 1);
    throw err;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    setTimeout(() => process.exit(code), 3000).unref();
    db.close().finally(() => process.exit(code));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (options.migrate !== false) await migrate(db);
    return await fn(db, config);
  } catch (err) {
    // Say it plainly rather than naming an error type.
    if (err instanceof DatabaseUnavailableError) {
      throw new CliError(
        `the database became unavailable during the command${config.databaseUrl ? '' : ' (did the service stop?)'}; run it again once it is back`,
      );
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.close();
  }
}

/** The master keyring of the configuration (INTAKE_MASTER_KEY, then INTAKE_MASTER_KEY_PREVIOUS). */
export async function cliKeyring(config: AppConfig): Promise<Keyring> {
  return loadKeyring(resolveMasterKey(config).key, config.masterKeyPrevious ?? []);
}

/**
 * {@link withDatabase} for commands that read or write coordinators' secrets (sealed at rest with the
 * master key): also loads the keyring and seals rows left clear by an older version, as the server does.
 */
export async function withKeyring<T>(
  fn: (db: Database, keyring: Keyring, config: AppConfig) => Promise<T>,
): Promise<T> {
  return withDatabase(async (db, config) => {
    const keyring = await cliKeyring(config);
    await sealLegacyCoordinatorSecrets(db, keyring);
    return fn(db, keyring, config);
  });
}
