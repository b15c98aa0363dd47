/**
 * Builds the app for tests: test configuration, a captured log stream, an embedded in-memory database
 * unless one is given, and a fixed throwaway master key.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { type AppDeps, buildApp } from '../src/app.js';
import { type AppConfig, loadConfig } from '../src/config/index.js';
import { type Keyring, loadKeyring } from '../src/intake/index.js';
import { loggerOptions } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { type Database, migrate, openEmbedded } from '../src/store/index.js';

/** A throwaway master key for tests only (32 zero-ish bytes would hide bugs; this one is random-looking). */
export const DANGEROUS_TEST_ONLY_MASTER_KEY = 'q2v0Zt1cU0m9V7bYd3xk8Rz4yHn6WjPpL5aQ1sE2fGc=';

/** Collects every log line written by the app. */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
  get text() {
    return this.lines.join('\n');
  }
}

export function testConfig(overrides: Partial<AppConfig> = {}, env: NodeJS.ProcessEnv = {}): AppConfig {
  return { ...loadConfig({ env: { NODE_ENV: 'test', ...env } }), ...overrides };
}

export interface TestApp {
  app: FastifyInstance;
  db: Database;
  /** The app's master keyring (coordinators' secrets are sealed with it). */
  keyring: Keyring;
  logs: LogCapture;
  config: AppConfig;
  close(): Promise<void>;
}

/** Builds a migrated app on the given (or a fresh in-memory) database. */
export async function buildTestApp(
  options: { config?: AppConfig; db?: Database; logLevel?: string; deps?: Partial<AppDeps> } = {},
): Promise<TestApp> {
  const config = options.config ?? testConfig();
  const ownDb = !options.db;
  const db = options.db ?? (await openEmbedded());
  await migrate(db);
  const logs = new LogCapture();
  const logger = pino(loggerOptions(options.logLevel ?? 'debug'), logs);
  const app = await buildApp(config, {
    db,
    masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    ...options.deps,
  });
  return {
    app,
    db,
    keyring: app.intake.pipeline.keyring,
    logs,
    config,
    async close() {
      await app.close();
      if (ownDb) await db.close();
    },
  };
}

/** The keyring of {@link DANGEROUS_TEST_ONLY_MASTER_KEY}: seals coordinators' secrets and MACs membership in tests. */
export async function testKeyring(): Promise<Keyring> {
  return loadKeyring(DANGEROUS_TEST_ONLY_MASTER_KEY);
}
