/**
 * The master key (32 random bytes, base64). From INTAKE_MASTER_KEY in production; in development, when
 * missing, one is generated into the data directory (mode 0600) and a warning says so.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './config/index.js';

export const MASTER_KEY_BYTES = 32;

/** Makes a new master key, base64. */
export function generateMasterKeyBase64(): string {
  return randomBytes(MASTER_KEY_BYTES).toString('base64');
}

/** Checks the shape of a base64 master key; the message never contains the value. */
export function checkMasterKey(value: string, source: string): string {
  const trimmed = value.trim();
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new ConfigError(
      `${source}: must be ${MASTER_KEY_BYTES} random bytes in base64 (make one with \`npx intake keygen\`)`,
    );
  }
  return trimmed;
}

export interface MasterKeyResult {
  key: string;
  /** Set when the key was generated or read from the development file. */
  devFile?: string;
  generated: boolean;
}

/** Resolves the master key: environment first, else (development only) the data-directory file. */
export function resolveMasterKey(config: {
  masterKey?: string;
  dataDir: string;
  nodeEnv: string;
  nodeEnvName?: string;
}): MasterKeyResult {
  if (config.masterKey)
    return { key: checkMasterKey(config.masterKey, 'environment INTAKE_MASTER_KEY'), generated: false };
  // A key is generated only in development and test: anywhere else a missing key stops the start.
  if (config.nodeEnv !== 'development' && config.nodeEnv !== 'test') {
    throw new ConfigError(
      `INTAKE_MASTER_KEY is required with NODE_ENV=${config.nodeEnvName ?? config.nodeEnv} (make one with \`npx intake keygen\`; only development and test generate one)`,
    );
  }
  const file = join(config.dataDir, 'master.key');
  if (existsSync(file)) {
    return { key: checkMasterKey(readFileSync(file, 'utf8'), file), devFile: file, generated: false };
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const key = generateMasterKeyBase64();
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key, devFile: file, generated: true };
}
