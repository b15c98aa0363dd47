/**
 * The bare reference for the load benchmark: a minimal Fastify route on the same path that checks the same
 * secret header, parses the same JSON and does one INSERT into the same database. Nothing else.
 *
 * Run (bench/load.ts starts it): DATABASE_URL=... PORT=... node --import tsx bench/reference.ts
 */
import Fastify from 'fastify';
import pg from 'pg';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const secret = process.env.TELEGRAM_WEBHOOK_SECRET ?? '';
const pool = new pg.Pool({ connectionString: url, max: 10 });
await pool.query(
  'CREATE TABLE IF NOT EXISTS bench_reference (id bigserial PRIMARY KEY, update_id bigint NOT NULL, received_at timestamptz NOT NULL DEFAULT now())',
);
const app = Fastify({ logger: { level: process.env.LOG_LEVEL || 'info' } });
app.post('/telegram/webhook', async (request, reply) => {
  if (request.headers['x-telegram-bot-api-secret-token'] !== secret)
    return reply.code(401).send({ ok: false });
  const update = request.body as { update_id?: unknown };
  if (typeof update?.update_id !== 'number') return reply.code(400).send({ ok: false });
  await pool.query('INSERT INTO bench_reference (update_id) VALUES ($1)', [update.update_id]);
  return { ok: true };
});
app.get('/readyz', async () => ({ status: 'ok' }));
await app.listen({ port: Number(process.env.PORT ?? 3100), host: '127.0.0.1' });
const stop = () => {
  app.close().then(() => pool.end());
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
