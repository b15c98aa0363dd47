/**
 * The service process: loads the configuration, opens the database (the embedded one: takes its data
 * directory's lock and shares it with `intake` commands on a Unix socket), applies pending migrations, builds
 * the app, listens, and shuts down gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight requests,
 * close the database, release the lock). Start problems print one line and exit non-zero.
 */
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, productionProblem } from './config/index.js';
import { sealLegacyCoordinatorSecrets } from './coordinators/index.js';
import { backfillIntegrity } from './intake/index.js';
import { schedulePurge } from './intake/retention.js';
import { createLogger } from './logger.js';
import { resolveMasterKey } from './secrets.js';
import { DatabaseBusyError, migrate, openDatabase } from './store/index.js';

function fail(message: string): never {
  process.stderr.write(`intake: ${message}\n`);
  process.exit(1);
}

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const problem = productionProblem(config);
  if (problem) fail(problem);

  const logger: Logger = createLogger({
    level: config.logLevel,
    pretty: config.nodeEnv !== 'production' && process.stdout.isTTY === true,
  });

  let masterKey: string;
  try {
    const mk = resolveMasterKey(config);
    masterKey = mk.key;
    if (mk.generated) {
      logger.warn(
        { file: mk.devFile },
        'development master key generated; production must set INTAKE_MASTER_KEY (see docs/OPERATIONS.md)',
      );
    }
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase(config, {
      as: 'service',
      onError: (err) => logger.warn({ err }, 'database connection lost'),
      onNotShared: (reason) =>
        logger.warn(
          { reason },
          'embedded database not shared: intake commands cannot run next to the service',
        ),
    });
  } catch (err) {
    // Another process owns the embedded database: say which, in one line.
    if (err instanceof DatabaseBusyError) fail(err.message);
    throw err;
  }
  // ioredis is loaded only when configured (~65 ms of start time).
  const redis = config.redisUrl
    ? new (await import('ioredis')).Redis(config.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        lazyConnect: false,
      })
    : undefined;
  redis?.on('error', (err) =>
    logger.warn({ err }, 'redis error (rate limits fall back to allowing requests)'),
  );

  // Settings problems (e.g. channel credentials) stop the start here, before the database is touched.
  const app = await buildApp(config, { db, masterKey, logger, ...(redis ? { redis } : {}) });
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.version) }, 'migrations applied');
    // The data step of migration 0009 (SQL cannot seal): idempotent, a no-op once every row is sealed.
    const sealed = await sealLegacyCoordinatorSecrets(db, app.intake.pipeline.keyring);
    if (sealed > 0) logger.info({ coordinators: sealed }, 'coordinator secrets sealed at rest');
    // Once, after migration 0011: MAC the memberships, keys and replies that existed then (needs the master key).
    const backfill = await backfillIntegrity(db, app.intake.pipeline.keyring);
    if (backfill.members + backfill.coordinators + backfill.replies > 0) {
      logger.info(backfill, 'integrity backfill: existing memberships, keys and replies MACed');
    }
  } catch (err) {
    logger.error({ err }, 'migrations failed');
    await db.close().catch(() => {});
    fail(
      'could not apply database migrations (is the database reachable? does this role own the schema? see the log above and docs/OPERATIONS.md, "Database roles")',
    );
  }

  const stopPurge = schedulePurge(db, config, logger);
  app.addHook('onClose', async () => {
    stopPurge();
    await db.close();
    redis?.disconnect();
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.server.shutdownTimeoutMs);
    timer.unref();
    app.close().then(
      () => {
        logger.info('shutdown complete');
        logger.flush?.();
        process.exitCode = 0;
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.server.port, host: config.server.host });
  logger.info({ port: config.server.port, database: db.kind, config: config.files }, 'intake ready');
}

main().catch((err) => {
  // Errors that declare a safe message (settings problems) are printed as they are; anything else may
  // quote input, so only its type is printed.
  const e = err as { name?: string; message?: string; safeMessage?: boolean };
  process.stderr.write(
    e?.safeMessage || e?.name === 'FlowError'
      ? `intake: ${e.message}\n`
      : `intake: start failed (${e?.name ?? 'error'}); run with LOG_LEVEL=debug\n`,
  );
  process.exit(1);
});
