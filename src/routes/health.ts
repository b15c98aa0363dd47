/**
 * Liveness, readiness and metrics. /healthz says the process is alive; /readyz says it can serve: the
 * database answers, every migration is applied, and the configuration is usable (each registered check).
 */
import type { FastifyInstance } from 'fastify';
import { listMigrations, pendingMigrations } from '../store/index.js';

/**
 * A readiness check: resolves to undefined when fine, to a short reason when the service must not take
 * traffic (503), or to `{ warning }` for a problem reported without failing (no content, no secrets).
 */
export type ReadinessCheck = {
  name: string;
  check: () => Promise<string | undefined | { warning: string }>;
};

/** Which channel is on: `off`, `on`, `on (polling)`, `local (no authentication)` (development only). */
const CHANNELS_SCHEMA = {
  type: 'object',
  properties: { telegram: { type: 'string' }, teams: { type: 'string' } },
} as const;

export async function healthRoutes(app: FastifyInstance) {
  const { db, metrics } = app.intake;
  const shipped = listMigrations().length;
  const noLimit = { rateLimit: false } as const;

  app.get(
    '/healthz',
    {
      config: noLimit,
      schema: {
        summary: 'Liveness: the process is alive',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string' }, channels: CHANNELS_SCHEMA },
          },
        },
      },
    },
    async () => ({ status: 'ok', channels: app.intake.channels }),
  );

  app.get(
    '/readyz',
    {
      config: noLimit,
      schema: {
        summary: 'Readiness: database reachable, migrations applied, configuration usable',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              checks: { type: 'object', additionalProperties: true },
              channels: CHANNELS_SCHEMA,
            },
          },
          503: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              reason: { type: 'string' },
              checks: { type: 'object', additionalProperties: true },
              channels: CHANNELS_SCHEMA,
            },
          },
        },
      },
    },
    async (request, reply) => {
      const checks: Record<string, string> = {};
      let reason: string | undefined;
      try {
        await db.ping(2000);
        checks.database = 'ok';
        const pending = await pendingMigrations(db);
        checks.migrations = pending.length === 0 ? 'ok' : `${pending.length} of ${shipped} pending`;
        if (pending.length > 0) reason = 'migrations pending (run `intake migrate`)';
      } catch (err) {
        request.log.warn({ err }, 'readiness: database check failed');
        checks.database = 'unreachable';
        reason = 'database unreachable';
      }
      // The other checks read the database: when it is unreachable they would only repeat that.
      for (const c of checks.database === 'ok' ? app.intake.readinessChecks : []) {
        try {
          const problem = await c.check();
          if (typeof problem === 'object') {
            checks[c.name] = `warning: ${problem.warning}`;
          } else {
            checks[c.name] = problem ?? 'ok';
            if (problem && !reason) reason = `${c.name}: ${problem}`;
          }
        } catch (err) {
          request.log.warn({ err, check: c.name }, 'readiness check failed');
          checks[c.name] = 'failed';
          if (!reason) reason = `${c.name}: check failed`;
        }
      }
      if (reason) {
        metrics.errors.inc({ kind: 'not_ready' });
        return reply.code(503).send({ status: 'unavailable', reason, checks, channels: app.intake.channels });
      }
      return { status: 'ready', checks, channels: app.intake.channels };
    },
  );

  app.get(
    '/metrics',
    { config: noLimit, schema: { summary: 'Prometheus metrics', tags: ['operations'], hide: false } },
    async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}
