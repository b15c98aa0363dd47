/**
 * One error handler for the whole app. It logs the error (type, code, frames; never the message unless the
 * error declares it safe) and answers with a short reason for 4xx, a generic message for 5xx, and 503 with
 * Retry-After when the database is unavailable, so platforms retry later.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isUnavailable } from '../store/index.js';

interface MaybeSafe {
  safeMessage?: boolean;
}

/** The client-facing reason of a 4xx error: never a quote of the body. */
function clientReason(err: FastifyError): string {
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
    return 'body is not valid JSON';
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'body is too large';
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'unsupported content type';
  if (err.validation) return err.message; // ajv messages name the field and the rule, not the value
  if ((err as MaybeSafe).safeMessage || err.code?.startsWith('FST_ERR')) return err.message;
  return 'bad request';
}

export const errorHandling = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const metrics = app.intake.metrics;
      if (isUnavailable(err)) {
        metrics.errors.inc({ kind: 'database_unavailable' });
        request.log.warn({ err }, 'database unavailable');
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ error: 'unavailable', message: 'temporarily unavailable, retry later' });
      }
      if (err.statusCode === 429) {
        metrics.errors.inc({ kind: 'rate_limited' });
        return reply.code(429).send({ error: 'rate_limited', message: 'too many requests, slow down' });
      }
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status < 500) {
        metrics.errors.inc({ kind: err.validation ? 'validation' : 'client' });
        request.log.info({ err }, 'request refused');
        return reply.code(status).send({ error: 'bad_request', message: clientReason(err) });
      }
      metrics.errors.inc({ kind: 'internal' });
      request.log.error({ err }, 'request failed');
      return reply
        .code(500)
        .send({ error: 'internal_error', message: 'internal error', requestId: request.id });
    });
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send({ error: 'not_found', message: `no route ${request.method} for this path` });
    });
  },
  { name: 'intake-errors' },
);
