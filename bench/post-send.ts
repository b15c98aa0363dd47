/**
 * What the message_trail insert adds to the statement that follows a sent reply (issue 16): the service's
 * `appendChannelUpdate` (delete the delivered outbox entry, append a sealed channel change) with and without
 * the sealed trail batch, on a fresh database, 10 statements in flight like the service's pool, interleaved
 * rounds. Prints wall time per statement, client CPU and PostgreSQL CPU per statement, and the cost of sealing
 * a batch of two message ids.
 *
 * Run: node --import tsx bench/post-send.ts   (env: BENCH_ADMIN_URL, BENCH_POST_SEND_N=4000, BENCH_ROUNDS=3)
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { sealState } from '../src/crypto/index.js';
import { loadKeyring } from '../src/intake/index.js';
import { appendChannelUpdate, migrate, openPostgres, saveConversation } from '../src/store/index.js';

const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.BENCH_POST_SEND_N ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const USERS = 2000;

/** CPU of all postgres processes, reaped backends included (see bench/load.ts), in ms. */
function postgresCpuMs(): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'postgres') continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / 100;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

const dbName = `intake_postsend_${Date.now()}_${process.pid}`;
const admin = async (sql: string) => {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  await c.query(sql).finally(() => c.end());
};
await admin(`CREATE DATABASE ${dbName}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${dbName}`;
const db = openPostgres({ connectionString: url.toString() });
try {
  await migrate(db);
  const keyring = await loadKeyring(randomBytes(32).toString('base64'));
  const hashes = Array.from({ length: USERS }, (_, i) => `u${i}`.padEnd(64, '0'));
  for (const h of hashes)
    await saveConversation(db, {
      userHash: h,
      channel: 'telegram',
      state: randomBytes(1500),
      keyFingerprint: keyring.current.fingerprint,
      expiresAt: new Date(Date.now() + 86_400_000),
    });
  const change = sealState(keyring.current, 'telegram:data', '1', JSON.stringify({ keyboard: [41, 'k'] }));

  const run = async (withTrail: boolean) => {
    let i = 0;
    const pg0 = postgresCpuMs();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (i < N) {
          const h = hashes[i++ % USERS]!;
          const trail = withTrail
            ? {
                userHash: h,
                channel: 'telegram',
                sealed: sealState(keyring.current, 'telegram:trail', h, JSON.stringify([i, i + 1])),
              }
            : undefined;
          await appendChannelUpdate(
            db,
            [h],
            change,
            { channel: 'telegram', eventHash: randomBytes(32).toString('hex') },
            trail,
          );
        }
      }),
    );
    const wall = (performance.now() - t0) / N;
    const cpu = process.cpuUsage(cpu0);
    return { wall, client: (cpu.user + cpu.system) / 1000 / N, pg: (postgresCpuMs() - pg0) / N };
  };
  await run(true);
  await run(false);
  const f = (v: number) => v.toFixed(3);
  process.stdout.write(
    '| round | trail | wall ms/stmt | client CPU ms/stmt | PostgreSQL CPU ms/stmt |\n|---|---|---|---|---|\n',
  );
  for (let r = 1; r <= ROUNDS; r++)
    for (const withTrail of [false, true]) {
      const m = await run(withTrail);
      process.stdout.write(
        `| ${r} | ${withTrail ? 'yes' : 'no'} | ${f(m.wall)} | ${f(m.client)} | ${f(m.pg)} |\n`,
      );
    }
  const s0 = performance.now();
  for (let k = 0; k < 20_000; k++)
    sealState(keyring.current, 'telegram:trail', '12345', JSON.stringify([k, k + 1]));
  process.stdout.write(`sealing a trail batch of 2 ids: ${((performance.now() - s0) / 20).toFixed(1)} µs\n`);
} finally {
  await db.close();
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
