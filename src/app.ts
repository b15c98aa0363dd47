/**
 * The application factory: builds the Fastify app from a validated configuration and its dependencies
 * (database, logger, metrics, keys). Tests build it directly (inject or a real port); src/server.ts adds
 * the process concerns (listening, signals, shutdown).
 */
import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { teamsChannel } from './channels/teams/index.js';
import { type TelegramPluginOptions, telegramChannel, telegramEnabled } from './channels/telegram/index.js';
import type { AppConfig } from './config/index.js';
import { inboxPlugin } from './inbox/index.js';
import { createIntake, type Intake, inboxReadiness, unclosedReportsWarning } from './intake/index.js';
import { createLogger, lazyRequestLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { errorHandling } from './plugins/errors.js';
import { healthRoutes, type ReadinessCheck } from './routes/health.js';
import type { Database } from './store/index.js';
import { webFlowPlugin } from './webflow/index.js';

/** What the app needs from outside. */
export interface AppDeps {
  db: Database;
  /** Base64 master key (validated). */
  masterKey: string;
  logger?: Logger;
  metrics?: Metrics;
  /** Shared rate-limit store for several instances (REDIS_URL): HTTP limits and the `/suivi` limits. */
  redis?: Redis;
  /** Extra readiness checks. */
  readinessChecks?: ReadinessCheck[];
  /** The intake pipeline (built from the config and master key when absent). */
  intake?: Intake;
  /** Options of the Telegram channel (tests: flood limit, handler timeout); settings still come from env. */
  telegram?: TelegramPluginOptions;
}

/** Services shared by the route plugins, available as `app.intake`. */
export interface IntakeContext {
  config: AppConfig;
  db: Database;
  metrics: Metrics;
  masterKey: string;
  readinessChecks: ReadinessCheck[];
  /** Runs conversation turns and seals reports; used by the channels. */
  pipeline: Intake;
  /** Which channel is on (set by each channel plugin when it registers), shown by /healthz and /readyz. */
  channels: Record<'telegram' | 'teams', string>;
}

declare module 'fastify' {
  interface FastifyInstance {
    intake: IntakeContext;
  }
  interface FastifyContextConfig {
    /** Set on routes whose own content must never reach a log line, even at trace level. */
    sensitive?: boolean;
  }
}

/**
 * Fastify's request logging in one line per request instead of two: no "incoming request" line, and the
 * "request completed" line carries the request (method and route pattern, see the req serializer). Half the
 * log writes on the webhook path.
 */
class OneLinePerRequest extends LogController {
  /**
   * The "request completed" line is written by a child of the process logger without the redaction pass
   * (which walks ~80 wildcard paths on every line): its only fields are the request id, method and route
   * pattern, status and time, from the serializers above, which never carry a body, a URL or a header.
   * Errors keep the request's redacting logger.
   */
  private access: Logger | undefined;
  private accessOf(root: Logger): Logger {
    this.access ??= root.child({}, { redact: { paths: [] } });
    return this.access;
  }
  constructor(private readonly root: () => Logger) {
    super();
  }
  override incomingRequest(): void {}
  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const fields = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else if ((reply.log as unknown as Logger).isLevelEnabled('info')) {
      this.accessOf(this.root()).info({ reqId: request.id, ...fields }, 'request completed');
    }
  }
}

/** Builds the app (not listening). */
export async function buildApp(config: AppConfig, deps: AppDeps): Promise<FastifyInstance> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const app = Fastify({
    loggerInstance: logger,
    genReqId: () => randomUUID(),
    bodyLimit: config.server.bodyLimitBytes,
    requestTimeout: config.server.requestTimeoutMs,
    connectionTimeout: config.server.requestTimeoutMs,
    keepAliveTimeout: 72_000,
    trustProxy: config.server.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    logController: new OneLinePerRequest(() => logger),
    // A request's own logger is made only if something logs through it (most requests do not).
    childLoggerFactory: (parent, bindings, options) =>
      lazyRequestLogger(parent as Logger, bindings, options as { level?: string }),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false, useDefaults: true },
    },
  }) as unknown as FastifyInstance;

  const metrics = deps.metrics ?? createMetrics();
  const pipeline =
    deps.intake ??
    (await createIntake({
      config,
      db: deps.db,
      masterKey: deps.masterKey,
      logger,
      metrics,
      ...(deps.redis ? { redis: deps.redis } : {}),
    }));
  const inboxes: ReadinessCheck = {
    name: 'inboxes',
    // A report is never sealed to nobody: in production an inbox without a coordinator makes the service
    // not ready; in development it is a warning, so a fresh `npm start` is ready before any set-up.
    check: async () => {
      const problem = await inboxReadiness(deps.db, config, pipeline.keyring);
      if (!problem) return undefined;
      return config.nodeEnv === 'production' ? problem : { warning: problem };
    },
  };
  const unclosed: ReadinessCheck = {
    name: 'unclosedReports',
    // Never a reason to stop traffic: a warning that a case may have been forgotten.
    check: async () => {
      const w = await unclosedReportsWarning(deps.db, config);
      return w ? { warning: w.warning } : undefined;
    },
  };
  app.decorate('intake', {
    config,
    db: deps.db,
    metrics,
    masterKey: deps.masterKey,
    readinessChecks: [inboxes, unclosed, ...(deps.readinessChecks ?? [])],
    pipeline,
    channels: { telegram: 'off', teams: 'off' },
  } satisfies IntakeContext);

  // Routes that carry user content (webhooks, inbox) never log below `info`, even with LOG_LEVEL=debug: a
  // debug line added there later cannot dump an update. (Serializers already strip bodies and URLs.)
  app.addHook('onRoute', (route) => {
    const levels = ['trace', 'debug'];
    if (route.config?.sensitive && (!route.logLevel || levels.includes(route.logLevel))) {
      route.logLevel = (levels.includes(app.log.level) ? 'info' : app.log.level) as typeof route.logLevel;
    }
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // Graceful shutdown: a response finished after close() began tells the client to drop the keep-alive
  // connection, otherwise the server would wait for idle connections until their keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(errorHandling);
  await app.register(helmet, {
    // The API docs UI needs inline styles; everything else stays strict.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    ...(deps.redis ? { redis: deps.redis, nameSpace: 'intake-rl:' } : {}),
    // A failing shared store must not take the service down: fall back to allowing the request.
    skipOnError: true,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Secure referral intake',
        description: 'Encrypted intake of child-protection concerns and the coordinator inbox API.',
        version: '0.1.0',
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  await app.register(healthRoutes);
  // Channel and inbox plugins (one line each; each plugin takes what it needs from app.intake).
  await app.register(inboxPlugin);
  await app.register(webFlowPlugin);
  if (telegramEnabled()) await app.register(telegramChannel, deps.telegram ?? {});
  await app.register(teamsChannel);
  return app;
}
