import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../src/store/index.js';
import { buildTestApp, type TestApp } from './helper.js';
import { createPgDatabase, PG_ENABLED, PG_URL, type TestDatabase } from './support/databases.js';
import { startTcpProxy, type TcpProxy, viaProxy } from './support/tcp-proxy.js';

describe.runIf(PG_ENABLED)('readiness on real PostgreSQL [postgres]', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    tdb = await createPgDatabase();
    const u = new URL(PG_URL!);
    proxy = await startTcpProxy(u.hostname, Number(u.port || 5432));
    const db = openPostgres({ connectionString: viaProxy(tdb.url, proxy.port), connectionTimeoutMs: 1000 });
    t = await buildTestApp({ db });
    t.app.get('/__test/db', async () => (await t.db.query('SELECT 1 AS one')).rows);
  });
  afterAll(async () => {
    await t?.close();
    await t?.db.close();
    await proxy?.close();
    await tdb?.drop();
  });

  it('goes 503 with a JSON reason when the database is cut, and 200 again when it is back', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    proxy.cut();
    const down = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({
      status: 'unavailable',
      reason: 'database unreachable',
      checks: { database: 'unreachable' },
      channels: { telegram: 'off', teams: 'local (no authentication)' },
    });
    // Liveness does not depend on the database.
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    proxy.restore();
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
  });

  it('reports pending migrations', async () => {
    await t.db.query('DELETE FROM schema_migrations WHERE version = 1');
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().reason).toBe('migrations pending (run `intake migrate`)');
    await t.db.query(`INSERT INTO schema_migrations (version, name) VALUES (1, 'foundation')`);
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('answers 503 with Retry-After when a route hits an unreachable database', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/__test/db' })).statusCode).toBe(200);
    proxy.cut();
    const res = await t.app.inject({ method: 'GET', url: '/__test/db' });
    proxy.restore();
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
  });
});
