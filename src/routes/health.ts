/**
 * Liveness, readiness and metrics. /healthz says the process is alive; /readyz says it can serve: the
 * database answers, every migration is applied, and the configuration is usable (each registered check).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
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

const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
function hasBearer(request: FastifyRequest, token: string): boolean {
  const m = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '');
  return m ? timingSafeEqual(digest(m[1]!), digest(token)) : false;
}

export async function healthRoutes(app: FastifyInstance) {
  const { db, metrics, config } = app.intake;
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
      // It queries the database: a flood must not turn probes into load (per client IP, shared through
      // Redis like the global limit when REDIS_URL is set).
      config: { rateLimit: { max: config.rateLimit.readyzPerMinute ?? 60, timeWindow: 60_000 } },
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

  // Metrics say how busy the service is and when (a signal about cases even without content): in production
  // they are for the scraper only. Without METRICS_TOKEN the route does not exist there (404, like any
  // unknown path); with it, a missing or wrong bearer gets 401. Development and tests keep it open unless
  // a token is set.
  const metricsToken = config.metricsToken;
  const metricsHidden = !metricsToken && config.nodeEnv === 'production';
  app.get(
    '/metrics',
    {
      config: noLimit,
      schema: {
        summary: 'Prometheus metrics',
        description:
          'Needs `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set; in production without it, 404.',
        tags: ['operations'],
        hide: false,
      },
    },
    async (request, reply) => {
      if (metricsHidden) return reply.callNotFound();
      if (metricsToken && !hasBearer(request, metricsToken)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ error: 'unauthorized', message: 'a bearer token is required' });
      }
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}
