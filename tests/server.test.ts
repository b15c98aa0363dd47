import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../src/paths.js';
import { startFakeBotApi } from './channels/telegram/fake-bot-api.js';
import { buildTestApp, testConfig } from './helper.js';
import { createPgDatabase, PG_ENABLED } from './support/databases.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `src/server.ts` (as `npm run dev`; `npm start` runs the same code compiled), with a clean environment. */
function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr.on('data', (d) => {
    out.stderr += d;
  });
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, ...out })));
  return { child, out, done };
}

async function waitFor(predicate: () => boolean, ms: number) {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('server process', () => {
  it('refuses a production start without the master key, in one line', async () => {
    const r = await startServer({ NODE_ENV: 'production' }).done;
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'intake: NODE_ENV=production needs INTAKE_MASTER_KEY (make one with `npx intake keygen`) and DATABASE_URL (a PostgreSQL connection string); refusing to start.',
    ]);
  });

  it('refuses a production start with a malformed key, without echoing it', async () => {
    const r = await startServer({
      NODE_ENV: 'production',
      INTAKE_MASTER_KEY: 'not-a-key-SECRETVALUE',
      DATABASE_URL: 'postgres://127.0.0.1:1/none',
    }).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'intake: environment INTAKE_MASTER_KEY: must be 32 random bytes in base64 (make one with `npx intake keygen`)\n',
    );
  });

  it('refuses a production start with Teams settings half set, in one line', async () => {
    const r = await startServer({
      NODE_ENV: 'production',
      INTAKE_MASTER_KEY: 'q2v0Zt1cU0m9V7bYd3xk8Rz4yHn6WjPpL5aQ1sE2fGc=',
      // Nothing listens there: the settings are refused before the database is touched.
      DATABASE_URL: 'postgres://127.0.0.1:1/none',
      MicrosoftAppPassword: 'a-password-without-its-app-id',
    }).done;
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'intake: Teams: MicrosoftAppPassword is set but MicrosoftAppId is empty: set MicrosoftAppId too, or unset them to turn Teams off',
    ]);
  });

  it('refuses a start with NODE_ENV=staging and no master key (no generated key outside development)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-data-'));
    const r = await startServer({ NODE_ENV: 'staging', INTAKE_DATA_DIR: dataDir }).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NODE_ENV=staging (treated as production');
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
  });

  it.skipIf(!PG_ENABLED)('starts in production with Telegram only: Teams is off and says so', async () => {
    const tdb = await createPgDatabase();
    const fake = await startFakeBotApi();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const s = startServer({
      NODE_ENV: 'production',
      INTAKE_MASTER_KEY: 'q2v0Zt1cU0m9V7bYd3xk8Rz4yHn6WjPpL5aQ1sE2fGc=',
      DATABASE_URL: tdb.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_WEBHOOK_SECRET: 'production-test-webhook-secret-0123456789',
      TELEGRAM_API_ROOT: fake.root,
    });
    try {
      await waitFor(() => s.out.stdout.includes('intake ready'), 20_000);
      const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json();
      expect(health.channels).toEqual({ telegram: 'on', teams: 'off' });
      const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
      expect(ready.channels).toEqual({ telegram: 'on', teams: 'off' });
      const teams = await fetch(`http://127.0.0.1:${port}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'message', text: 'hello' }),
      });
      expect(teams.status).toBe(404);
      const telegram = await fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ update_id: 1 }),
      });
      expect(telegram.status).toBe(401); // no secret
    } finally {
      s.child.kill('SIGTERM');
      await s.done;
      await fake.close();
      await tdb.drop();
    }
  });

  it('starts on a fresh data directory with a generated key, then shuts down cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-data-'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const s = startServer({
      INTAKE_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    await waitFor(() => s.out.stdout.includes('intake ready'), 20_000);
    expect(s.out.stdout).toContain('development master key generated');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    s.child.kill('SIGTERM');
    const r = await s.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('shutdown complete');
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request before closing the database', async () => {
    const t = await buildTestApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started!: () => void;
    const inFlight = new Promise<void>((r) => {
      started = r;
    });
    t.app.get('/__test/slow', async () => {
      started();
      await gate;
      return { finished: true };
    });
    let dbClosed = false;
    t.app.addHook('onClose', async () => {
      await t.db.close();
      dbClosed = true;
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address() as { port: number };
    const pending = fetch(`http://127.0.0.1:${address.port}/__test/slow`);
    await inFlight;
    const closing = t.app.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(dbClosed).toBe(false); // still waiting for the request
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ finished: true });
    await closing;
    expect(dbClosed).toBe(true);
  });
});

describe('rate limit shared through Redis (REDIS_URL)', () => {
  it('counts requests across two instances', async () => {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await probe.connect();
    } catch {
      // Redis runs on every machine of this kind; if it is down, say so loudly rather than skip silently.
      throw new Error(`Redis at ${url} is unreachable: the shared rate-limit test needs it`);
    } finally {
      probe.disconnect();
    }
    const config = testConfig();
    config.rateLimit = { max: 3, windowMs: 60_000 };
    const r1 = new Redis(url);
    const r2 = new Redis(url);
    // A distinct client address per run so parallel runs do not share a counter.
    const ip = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    const a = await buildTestApp({ config, deps: { redis: r1 } });
    const b = await buildTestApp({ config, deps: { redis: r2 } });
    for (const t of [a, b]) t.app.get('/__test/limited', async () => ({ ok: true }));
    try {
      const codes: number[] = [];
      for (const t of [a, b, a, b, a]) {
        codes.push(
          (await t.app.inject({ method: 'GET', url: '/__test/limited', remoteAddress: ip })).statusCode,
        );
      }
      expect(codes).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await a.close();
      await b.close();
      r1.disconnect();
      r2.disconnect();
    }
  });
});
