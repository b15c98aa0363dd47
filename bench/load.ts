/**
 * Load benchmark (`npm run bench`): the real service (dist/server.js, as `npm start`, on real PostgreSQL) with
 * a coordinator in the inbox, driven over real HTTP by simulated Telegram users, each running the youth flow
 * to a sealed report through POST /telegram/webhook (the Bot API is an in-process fake that answers at once).
 * Then the same load against a bare reference (bench/reference.ts: parse the same JSON, one INSERT).
 *
 * First, side by side in one run (issue 16): ours, the usual alternative (bench/peer-grammy.ts: grammY +
 * @grammyjs/storage-psql, no encryption, dedup, lock or outbox) and the bare reference, under two loads of
 * 50 closed-loop users: typed text answered by a re-prompt, and the youth flow with button presses. Each run
 * is interleaved (text: ours, peer, reference; youth: the same), with CPU per turn of the process and of
 * PostgreSQL and Bot API calls per turn, and the ratio ours/peer.
 *
 * Prints: turns/s, p50/p95/p99 turn latency, reports/s, peak RSS, ratio ours/reference; p99 at a fixed
 * 500 turns/s; RSS with 10,000 live conversations; first page of the inbox queue over 100,000 reports (p95);
 * `npm start` to ready with the embedded database.
 *
 * Run: npm run bench            (env: BENCH_ADMIN_URL, BENCH_SECONDS=20, BENCH_CONCURRENCY=64,
 *                                BENCH_LIVE=10000, BENCH_REPORTS=100000, BENCH_LOG_LEVEL=info,
 *                                BENCH_RATES=100,200 (open-loop rates measured after the 500/s one),
 *                                BENCH_NODE_ARGS='--flag ...' (extra node flags for the service, after
 *                                the ones `npm start` gives it), BENCH_PEER_NODE_ARGS='--flag ...' (node
 *                                flags for the peer, none by default),
 *                                BENCH_STEPS=1 to print p50/p99 by step of the walk,
 *                                BENCH_STATS=1 to print the rows each table took (pg_stat_user_tables),
 *                                BENCH_SAMPLES=file to write every side-by-side turn's latency (JSON),
 *                                BENCH_CHILD_LOGS=dir to keep each child's output there (e.g. with
 *                                BENCH_NODE_ARGS=--trace-gc; the service logs no content),
 *                                BENCH_PROFILE=1 to write a --cpu-prof of the service to bench/profiles/,
 *                                BENCH_TSX=1 to run src/server.ts through tsx (`npm run dev`) instead of
 *                                the built dist/server.js (`npm start`, the Dockerfile; rebuilt first if stale),
 *                                BENCH_COMPARE_USERS=50, BENCH_COMPARE_SECONDS=15, BENCH_ROUNDS=3 (side by
 *                                side), BENCH_LOADS=text,youth (side by side), BENCH_ONLY=compare,throughput,rate,live,reference,inbox,start)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createCoordinator } from '../src/coordinators/index.js';
import { loadKeyring } from '../src/intake/index.js';
import { listReportsForCoordinator, migrate, openPostgres } from '../src/store/index.js';
import {
  BENCH_SECRET,
  closedLoop,
  fixedRate,
  type LatencySummary,
  Poster,
  postUpdate,
  rssOf,
  SimUser,
  summarize,
  textSteps,
  type Walk,
  youthSteps,
} from './driver.js';
import { startLeanFakeBotApi } from './fake-telegram.js';
import { type Child, ROOT, startChild } from './processes.js';
import { seedReports } from './seed-reports.js';

const env = process.env;
const ADMIN_URL = env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(env.BENCH_SECONDS ?? 20);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 64);
const LIVE = Number(env.BENCH_LIVE ?? 10_000);
const REPORTS = Number(env.BENCH_REPORTS ?? 100_000);
const LOG_LEVEL = env.BENCH_LOG_LEVEL ?? 'info';
const SERVER = env.BENCH_TSX === '1' ? 'src/server.ts' : 'dist/server.js';
/** The node flags `npm start` runs dist/server.js with (package.json), so that ours runs here as it is run. */
const START_FLAGS = startFlags(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start);
const PEER_FLAGS = (env.BENCH_PEER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const ONLY = new Set((env.BENCH_ONLY ?? 'compare,throughput,rate,live,reference,inbox,start').split(','));
const COMPARE_USERS = Number(env.BENCH_COMPARE_USERS ?? 50);
const COMPARE_SECONDS = Number(env.BENCH_COMPARE_SECONDS ?? 15);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const LOADS = new Set((env.BENCH_LOADS ?? 'text,youth').split(','));

const out = (line = '') => process.stdout.write(`${line}\n`);
const ms = (v: number) => `${v.toFixed(1)} ms`;
const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');

/** The flags of `node [--flags] dist/server.js` (package.json's start script). */
function startFlags(start: unknown): string[] {
  const m = typeof start === 'string' ? /^node((?:\s+--\S+)*)\s+dist\/server\.js$/.exec(start.trim()) : null;
  if (!m)
    throw new Error(`package.json: scripts.start is not "node [--flags] dist/server.js": ${String(start)}`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

/**
 * WAL written by the whole cluster so far: bytes and full-page images (only the side under load writes).
 * PostgreSQL 14 and later; NaN (printed as such) before.
 */
async function walWritten(): Promise<{ bytes: number; fpi: number }> {
  try {
    const r = await admin((c) =>
      c.query('SELECT wal_bytes::float8 AS b, wal_fpi::float8 AS f FROM pg_stat_wal'),
    );
    return { bytes: Number(r.rows[0].b), fpi: Number(r.rows[0].f) };
  } catch {
    return { bytes: Number.NaN, fpi: Number.NaN };
  }
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const dbName = `intake_bench_${Date.now()}_${process.pid}`;
const dbUrl = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

let nextUser = 8_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1000;
const newUserId = () => ++nextUser;

const results: Record<string, unknown> = {};

/**
 * CPU time (user + system) of a process so far, in ms (Linux /proc; 0 once it is gone); with `children`,
 * plus that of its children it has reaped.
 */
function cpuMsOf(pid: number, children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime, stime, cutime, cstime are the 12th-15th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/**
 * CPU time of PostgreSQL on this machine so far, in ms: every live postgres process, plus the backends that
 * exited (a pool closes idle connections), which the postmaster reaped and counts as its children's time.
 */
function postgresCpuMs(): number {
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'postgres')
        total += cpuMsOf(Number(name), true);
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}
const children: Child[] = [];

async function main() {
  const { execSync } = await import('node:child_process');
  // What `npm start` would do first: rebuild dist/ (and the inbox UI) when the sources are newer.
  if (SERVER.endsWith('.js')) execSync('node scripts/ensure-built.mjs', { stdio: 'inherit' });
  out(`# intake load benchmark — ${new Date().toISOString()}`);
  out(
    `machine: nproc=${execSync('nproc').toString().trim()}, node ${process.version}, ${execSync('uname -sr').toString().trim()}`,
  );
  const pgVersion = await admin(async (c) => (await c.query('SHOW server_version')).rows[0].server_version);
  out(
    `PostgreSQL ${pgVersion} at ${new URL(ADMIN_URL).host}; database ${dbName}; service log level ${LOG_LEVEL}`,
  );
  out(
    `closed loop: ${CONCURRENCY} concurrent users for ${SECONDS} s; youth flow = 15 turns to a sealed report`,
  );
  out();

  await admin((c) => c.query(`CREATE DATABASE ${dbName}`));
  const db = openPostgres({ connectionString: dbUrl });
  await migrate(db);
  // Coordinators' secrets are sealed (and their membership MACed) with the master key the service will run with.
  const masterKey = randomBytes(32).toString('base64');
  await createCoordinator(
    db,
    await loadKeyring(masterKey),
    {
      name: 'Bench coordinator',
      login: 'bench1',
      inbox: 'coordination',
      passphrase: 'bench only passphrase, not secret',
    },
    ['coordination'],
  );
  const fake = await startLeanFakeBotApi();
  const serviceEnv = {
    // Development: the bench runs without Teams and with the embedded-database rules relaxed.
    NODE_ENV: 'development',
    LOG_LEVEL,
    DATABASE_URL: dbUrl,
    INTAKE_MASTER_KEY: masterKey,
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_WEBHOOK_SECRET: BENCH_SECRET,
    TELEGRAM_API_ROOT: fake.root,
  };
  const profileArgs = [
    ...(SERVER.endsWith('.js') ? START_FLAGS : []),
    ...(env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench', 'profiles')}`] : []),
    ...(env.BENCH_NODE_ARGS ? env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : []),
  ];
  const poster = new Poster(Math.max(256, CONCURRENCY * 2));

  if (ONLY.has('compare')) {
    // Side by side, same fake Bot API, same database, same machine, same run; the three processes run at
    // once but only the one under load works.
    const ours = await startChild({ script: SERVER, env: serviceEnv, nodeArgs: profileArgs });
    children.push(ours);
    const peer = await startChild({
      script: 'bench/peer-grammy.ts',
      nodeArgs: PEER_FLAGS,
      env: {
        DATABASE_URL: dbUrl,
        LOG_LEVEL,
        TELEGRAM_BOT_TOKEN: fake.token,
        TELEGRAM_API_ROOT: fake.root,
        TELEGRAM_WEBHOOK_SECRET: BENCH_SECRET,
      },
    });
    children.push(peer);
    const ref = await startChild({
      script: 'bench/reference.ts',
      env: { DATABASE_URL: dbUrl, LOG_LEVEL, TELEGRAM_WEBHOOK_SECRET: BENCH_SECRET },
    });
    children.push(ref);
    const sides = [
      { name: 'ours', child: ours, fake, reports: true },
      { name: 'peer', child: peer, fake, reports: true },
      // The reference answers nothing: presses carry synthetic callback data.
      { name: 'reference', child: ref, fake: undefined, reports: false },
    ] as const;
    const loads: { name: string; walk: Walk; reports: boolean }[] = [
      { name: 'text', walk: textSteps, reports: false },
      { name: 'youth', walk: youthSteps, reports: true },
    ].filter((l) => LOADS.has(l.name));
    for (const side of sides)
      for (const load of loads)
        await closedLoop({
          poster,
          base: side.child.base,
          ...(side.fake ? { fake: side.fake } : {}),
          // At the full load: with 16 users for 3 s the service's first measure came out ~30% low (JIT).
          concurrency: COMPARE_USERS,
          seconds: 5,
          newUserId,
          expectReports: load.reports && side.reports,
          walk: load.walk,
        });
    out(
      `## side by side: ${COMPARE_USERS} closed-loop users, ${COMPARE_SECONDS} s a measure, ${ROUNDS} round(s), interleaved`,
    );
    out(
      `ours: node ${[...profileArgs, SERVER].join(' ')}; peer: node ${[...PEER_FLAGS, '--import tsx', 'bench/peer-grammy.ts'].join(' ')}`,
    );
    out('text = /start jeune then 14 typed texts at a choice, each answered by a re-prompt;');
    out(
      'youth = the 15-turn walk above (12 button presses) to a report. CPU and Bot API calls are per turn.',
    );
    out();
    out(
      '| load | side | turns/s | p50 ms | p99 ms | errors | reports | CPU ms/turn | PostgreSQL CPU ms/turn | WAL kB/turn (full pages) | RSS MB before, after | Bot API calls/turn |',
    );
    out('|---|---|---|---|---|---|---|---|---|---|---|---|');
    type Row = { load: string; side: string; tps: number; p50: number; p99: number; samples: number[] };
    const rows: Row[] = [];
    const stepRows: { load: string; side: string; steps: LatencySummary[] }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const load of loads) {
        for (const side of sides) {
          const calls0 = new Map(fake.counts);
          const cpu0 = cpuMsOf(side.child.pid);
          const pg0 = postgresCpuMs();
          const wal0 = await walWritten();
          // Resident memory before the measure (after the idle gap while the other sides were measured) and after.
          const rss0 = rssOf(side.child.pid!).rssMb;
          const r = await closedLoop({
            poster,
            base: side.child.base,
            ...(side.fake ? { fake: side.fake } : {}),
            concurrency: COMPARE_USERS,
            seconds: COMPARE_SECONDS,
            newUserId,
            expectReports: load.reports && side.reports,
            walk: load.walk,
            byStep: env.BENCH_STEPS === '1',
          });
          if (r.steps) stepRows.push({ load: load.name, side: side.name, steps: r.steps });
          const cpu = (cpuMsOf(side.child.pid) - cpu0) / r.turns;
          const pgCpu = (postgresCpuMs() - pg0) / r.turns;
          const wal1 = await walWritten();
          const rss1 = rssOf(side.child.pid!).rssMb;
          const walKb = (wal1.bytes - wal0.bytes) / 1024 / r.turns;
          const fpi = (wal1.fpi - wal0.fpi) / r.turns;
          // Bot API calls per turn, by method (sendMessage, editMessageReplyMarkup, answerCallbackQuery).
          const byMethod = [...fake.counts]
            .map(([m, n]) => [m, (n - (calls0.get(m) ?? 0)) / r.turns] as const)
            .filter(([, n]) => side.fake && n > 0.005);
          const apiCalls = byMethod.reduce((a, [, n]) => a + n, 0);
          const short = (m: string) =>
            m.replace('Message', '').replace('ReplyMarkup', '').replace('CallbackQuery', 'Cb');
          const tps = r.turns / r.seconds;
          rows.push({
            load: load.name,
            side: side.name,
            tps,
            p50: r.latency.p50,
            p99: r.latency.p99,
            samples: r.samples ?? [],
          });
          out(
            `| ${load.name} | ${side.name} | ${tps.toFixed(0)} | ${r.latency.p50.toFixed(1)} | ${r.latency.p99.toFixed(1)} | ${r.errors} | ${r.reports} | ${cpu.toFixed(2)} | ${pgCpu.toFixed(2)} | ${walKb.toFixed(2)} (${fpi.toFixed(2)}) | ${rss0.toFixed(0)}, ${rss1.toFixed(0)} | ${apiCalls.toFixed(2)}${byMethod.length ? ` (${byMethod.map(([m, n]) => `${short(m)} ${n.toFixed(2)}`).join(', ')})` : ''} |`,
          );
        }
      }
    }
    if (env.BENCH_SAMPLES) writeFileSync(env.BENCH_SAMPLES, JSON.stringify(rows));
    if (stepRows.length > 0) {
      // p50 / p99 by step of the walk (step 0 is /start), one line a run.
      out();
      out('| load | side | p50 / p99 ms by step of the walk |');
      out('|---|---|---|');
      for (const r of stepRows) {
        const cells = r.steps.map((s, i) => `${i}: ${s.p50.toFixed(0)}/${s.p99.toFixed(0)}`);
        out(`| ${r.load} | ${r.side} | ${cells.join(' · ')} |`);
      }
    }
    out();
    for (const load of loads) {
      const of = (side: string) => rows.filter((r) => r.load === load.name && r.side === side);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const o = of('ours');
      const p = of('peer');
      const ratio = mean(o.map((r) => r.tps)) / mean(p.map((r) => r.tps));
      // p99 of every turn of every round (each round's measures last as long on both sides), and the spread.
      const p99o = summarize(o.flatMap((r) => r.samples)).p99;
      const p99p = summarize(p.flatMap((r) => r.samples)).p99;
      const byRound = o.map(
        (r, i) => `${(r.tps / p[i]!.tps).toFixed(2)} (p99 ${r.p99.toFixed(1)} vs ${p[i]!.p99.toFixed(1)})`,
      );
      results[`compare_${load.name}`] = {
        rows: [...o, ...p].map(({ samples: _, ...r }) => r),
        ratio,
        p99: { ours: p99o, peer: p99p },
      };
      out(
        `${load.name}: ratio ours/peer ${ratio.toFixed(2)} in turns/s (target >= 1.0: ${mark(ratio >= 1)}); p99 of all ${o.length} round(s) ours ${ms(p99o)}, peer ${ms(p99p)} (no worse: ${mark(p99o <= p99p)}); by round: ${byRound.join(', ')}`,
      );
    }
    out();
    for (const c of [ours, peer, ref]) await c.stop();
  }

  if (ONLY.has('throughput') || ONLY.has('rate') || ONLY.has('live')) {
    const svc = await startChild({ script: SERVER, env: serviceEnv, nodeArgs: profileArgs });
    children.push(svc);
    out(`service ready in ${Math.round(svc.readyMs)} ms (pid ${svc.pid}, PostgreSQL)`);
    // Warm-up: JIT, pool connections.
    await closedLoop({
      poster,
      base: svc.base,
      fake,
      concurrency: 16,
      seconds: 3,
      newUserId,
      expectReports: true,
    });

    if (ONLY.has('throughput')) {
      const r = await closedLoop({
        poster,
        base: svc.base,
        fake,
        concurrency: CONCURRENCY,
        seconds: SECONDS,
        newUserId,
        expectReports: true,
      });
      const { peakMb } = rssOf(svc.pid);
      const tps = r.turns / r.seconds;
      results.ours = { ...r, tps, peakMb };
      out('## ours: POST /telegram/webhook, youth flow to a sealed report');
      out(`turns/s ${tps.toFixed(0)}  (${r.turns} turns in ${r.seconds.toFixed(1)} s, ${r.errors} errors)`);
      out(
        `turn latency p50 ${ms(r.latency.p50)}  p95 ${ms(r.latency.p95)}  p99 ${ms(r.latency.p99)}  max ${ms(r.latency.max)}`,
      );
      out(`reports/s ${(r.reports / r.seconds).toFixed(1)}  (${r.reports} sealed)`);
      out(`peak RSS ${peakMb.toFixed(0)} MB`);
      out();
    }

    if (ONLY.has('rate')) {
      const r = await fixedRate({
        poster,
        base: svc.base,
        fake,
        rate: 500,
        seconds: Math.min(SECONDS, 15),
        newUserId,
      });
      results.rate500 = r;
      out('## fixed rate: 500 turns/s (open loop)');
      out(`achieved ${(r.turns / r.seconds).toFixed(0)} turns/s, ${r.errors} errors, ${r.reports} reports`);
      out(
        `turn latency p50 ${ms(r.latency.p50)}  p95 ${ms(r.latency.p95)}  p99 ${ms(r.latency.p99)}  max ${ms(r.latency.max)}  — target p99 <= 50 ms: ${mark(r.latency.p99 <= 50)}`,
      );
      out();
      // Below saturation: the same open loop at lower rates shows the latency a turn costs when nobody queues.
      for (const rate of (env.BENCH_RATES ?? '100,200')
        .split(',')
        .map(Number)
        .filter((n) => n > 0)) {
        const low = await fixedRate({ poster, base: svc.base, fake, rate, seconds: 10, newUserId });
        results[`rate${rate}`] = low;
        out(
          `at ${rate} turns/s: achieved ${(low.turns / low.seconds).toFixed(0)}, ${low.errors} errors, p50 ${ms(low.latency.p50)}  p95 ${ms(low.latency.p95)}  p99 ${ms(low.latency.p99)}`,
        );
      }
      out();
    }
    await svc.stop();

    if (ONLY.has('live')) {
      // A fresh process: the RSS it reaches holding 10,000 conversations in progress (stored in the database).
      const live = await startChild({ script: SERVER, env: serviceEnv, nodeArgs: profileArgs });
      children.push(live);
      const before = rssOf(live.pid);
      // Earlier phases leave conversations in progress (the text load never finishes its users).
      const countConversations = async () =>
        Number(
          (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM conversations')).rows[0]?.n ?? 0,
        );
      const already = await countConversations();
      let started = 0;
      let failures = 0;
      const lanes = Array.from({ length: 64 }, async () => {
        while (started < LIVE) {
          started += 1;
          const u = new SimUser(newUserId(), fake);
          for (let i = 0; i < 3; i++) {
            const r = await postUpdate(poster, live.base, u.nextUpdate()).catch(() => ({ status: 0 }));
            if (r.status !== 200) failures += 1;
            u.step += 1;
          }
          fake.drop(u.id);
        }
      });
      await Promise.all(lanes);
      const count = (await countConversations()) - already;
      const after = rssOf(live.pid);
      results.live = { count, before, after, failures };
      out(`## ${LIVE} live conversations (3 turns each, in progress, stored)`);
      out(`conversations stored ${count}, ${failures} failed turns`);
      out(
        `RSS idle ${before.rssMb.toFixed(0)} MB -> with them ${after.rssMb.toFixed(0)} MB (peak ${after.peakMb.toFixed(0)} MB) — target <= 200 MB: ${mark(after.peakMb <= 200)}`,
      );
      out();
      await live.stop();
    }
  }

  if (ONLY.has('reference')) {
    const ref = await startChild({
      script: 'bench/reference.ts',
      env: { DATABASE_URL: dbUrl, LOG_LEVEL, TELEGRAM_WEBHOOK_SECRET: BENCH_SECRET },
    });
    children.push(ref);
    await closedLoop({
      poster,
      base: ref.base,
      concurrency: 16,
      seconds: 3,
      newUserId,
      expectReports: false,
    });
    const r = await closedLoop({
      poster,
      base: ref.base,
      concurrency: CONCURRENCY,
      seconds: SECONDS,
      newUserId,
      expectReports: false,
    });
    const { peakMb } = rssOf(ref.pid);
    const tps = r.turns / r.seconds;
    results.reference = { ...r, tps, peakMb };
    out('## bare reference: same JSON, one INSERT (bench/reference.ts)');
    out(
      `turns/s ${tps.toFixed(0)}  (${r.errors} errors)  latency p50 ${ms(r.latency.p50)}  p95 ${ms(r.latency.p95)}  p99 ${ms(r.latency.p99)}  peak RSS ${peakMb.toFixed(0)} MB`,
    );
    const ours = results.ours as { tps: number } | undefined;
    if (ours) {
      const ratio = ours.tps / tps;
      results.ratio = ratio;
      out(
        `ratio ours/reference ${ratio.toFixed(2)} — target >= 0.5: ${mark(ratio >= 0.5)}; ours >= 1,000 turns/s: ${mark(ours.tps >= 1000)}`,
      );
    }
    out();
    await ref.stop();
  }

  if (ONLY.has('inbox')) {
    const seeded = await seedReports(dbUrl, REPORTS);
    const coord = (await db.query<{ id: string }>("SELECT id FROM coordinators WHERE login = 'bench1'"))
      .rows[0]!;
    const times: number[] = [];
    for (let i = 0; i < 220; i++) {
      const t0 = performance.now();
      // The inbox API's first page: 50 rows (+1 to know whether there is a next page).
      const rows = await listReportsForCoordinator(db, {
        coordinatorId: coord.id,
        inboxId: 'coordination',
        limit: 51,
      });
      if (i >= 20) times.push(performance.now() - t0);
      if (rows.length !== 51) throw new Error(`expected 51 rows, got ${rows.length}`);
    }
    const byStatus: number[] = [];
    for (let i = 0; i < 220; i++) {
      const t0 = performance.now();
      await listReportsForCoordinator(db, {
        coordinatorId: coord.id,
        inboxId: 'coordination',
        status: 'nouveau',
        limit: 51,
      });
      if (i >= 20) byStatus.push(performance.now() - t0);
    }
    const s = summarize(times);
    const f = summarize(byStatus);
    results.inbox = { seeded, all: s, nouveau: f };
    out(`## inbox queue first page over ${seeded.reports} reports (listReportsForCoordinator, 50 rows)`);
    out(`all statuses p50 ${ms(s.p50)}  p95 ${ms(s.p95)}  — target p95 <= 30 ms: ${mark(s.p95 <= 30)}`);
    out(`status=nouveau p50 ${ms(f.p50)}  p95 ${ms(f.p95)}  — target p95 <= 30 ms: ${mark(f.p95 <= 30)}`);
    out();
  }

  if (ONLY.has('start')) {
    const dir = mkdtempSync(join(tmpdir(), 'intake-bench-start-'));
    try {
      const startEnv = { NODE_ENV: 'development', LOG_LEVEL: 'warn', INTAKE_DATA_DIR: dir };
      // `npm start` itself: npm, prestart (rebuilds dist/ only if src/ is newer), then node dist/server.js.
      const npmStart = { script: 'npm start', command: ['npm', 'start', '--silent'], env: startEnv };
      const cold = await startChild(npmStart);
      await cold.stop();
      const warm: number[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await startChild(npmStart);
        warm.push(c.readyMs);
        await c.stop();
      }
      const best = Math.min(...warm);
      const worst = Math.max(...warm);
      results.start = { cold: cold.readyMs, warm };
      out('## `npm start` to ready (/readyz 200) with the embedded database');
      out(
        `first start (creates the database, migrations) ${Math.round(cold.readyMs)} ms; later starts ${Math.round(best)}-${Math.round(worst)} ms — target <= 3000 ms: ${mark(worst <= 3000 && cold.readyMs <= 3000)}`,
      );
      out();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  poster.close();
  await fake.close();
  if (env.BENCH_STATS === '1') {
    // Rows written per table over the whole run (both sides share the database), HOT updates among them.
    const r = await db.query(
      `SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables
        WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname`,
    );
    out('\n| table | inserted | updated | of which HOT | deleted |\n|---|---|---|---|---|');
    for (const t of r.rows) {
      out(`| ${t.relname} | ${t.n_tup_ins} | ${t.n_tup_upd} | ${t.n_tup_hot_upd} | ${t.n_tup_del} |`);
    }
  }
  await db.close();
  if (env.BENCH_JSON) out(JSON.stringify(results));
}

main()
  .catch((err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of children) await c.stop('SIGKILL').catch(() => undefined);
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)).catch(() => undefined);
  });
