/**
 * Shared plumbing of the `intake` CLI: loading the configuration and the database for a command, and the
 * error type whose message is printed as is (no content, no secret) with an exit code.
 */

import type { AppConfig } from '../config/index.js';
import { loadConfig } from '../config/index.js';
import { sealLegacyCoordinatorSecrets } from '../coordinators/index.js';
import { type Keyring, loadKeyring } from '../intake/index.js';
import { resolveMasterKey } from '../secrets.js';
import { type Database, migrate, openDatabase } from '../store/index.js';

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
 * server does at start); closes it when `fn` is done.
 */
export async function withDatabase<T>(
  fn: (db: Database, config: AppConfig) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    if (options.migrate !== false) await migrate(db);
    return await fn(db, config);
  } finally {
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
