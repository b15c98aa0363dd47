// The embedded database shared on a Unix socket (src/store/share.ts, datadir.ts, lock.ts), in one process:
// this test is the service, `pg` clients on the socket are the `intake` commands. What must hold: a
// transaction (the service's or a client's) never sees another caller's statements, clients' extended-protocol
// exchanges do not mix, a client that leaves or goes silent mid-transaction does not stall the service, and
// the data directory has one owner whose lock is recovered when its process is gone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseBusyError, openCommandEmbedded, openServiceEmbedded } from '../../src/store/datadir.js';
import type { Database } from '../../src/store/index.js';
import { LOCK_FILE, tryLock } from '../../src/store/lock.js';
import { SOCKET_FILE } from '../../src/store/share.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close().catch(() => {});
});

function tempDir() {
  return mkdtempSync(join(tmpdir(), 'intake-share-'));
}

async function service(dir: string, unitIdleMs?: number): Promise<Database> {
  const db = await openServiceEmbedded(dir, unitIdleMs ? { unitIdleMs } : {});
  open.push(db);
  return db;
}

/** A client of the socket, as `intake` connects (pg, socket directory as host). */
function client(dir: string, max = 1): pg.Pool {
  const pool = new pg.Pool({ host: dir, port: 5432, user: 'postgres', database: 'postgres', max });
  pool.on('error', () => {});
  open.push({ close: () => pool.end() });
  return pool;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pid that no process has any more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

// Each test creates a database (PGlite's initdb: seconds, many more on a loaded machine).
describe('the shared embedded database', { timeout: 120_000 }, () => {
  it('never interleaves a client transaction with a service transaction (no lost increment)', async () => {
    const dir = tempDir();
    const db = await service(dir);
    await db.exec('CREATE TABLE counter (n integer NOT NULL); INSERT INTO counter VALUES (0);');
    const pool = client(dir, 3);
    const ROUNDS = 15;
    // Read, yield to everything else, write back: any statement of another caller landing inside the
    // transaction (or this one's inside another's) loses an increment or breaks a transaction.
    const viaService = async () => {
      for (let i = 0; i < ROUNDS; i++) {
        await db.transaction(async (tx) => {
          const r = await tx.query<{ n: number }>('SELECT n FROM counter');
          await pause(Math.random() * 3);
          await tx.query('UPDATE counter SET n = $1', [(r.rows[0]?.n ?? 0) + 1]);
        });
      }
    };
    const viaSocket = async () => {
      const c = await pool.connect();
      try {
        for (let i = 0; i < ROUNDS; i++) {
          await c.query('BEGIN');
          const r = await c.query('SELECT n FROM counter');
          await pause(Math.random() * 3);
          await c.query('UPDATE counter SET n = $1', [r.rows[0].n + 1]);
          await c.query('COMMIT');
        }
      } finally {
        c.release();
      }
    };
    // Plain queries of the service in between, outside any transaction, must not run inside one either.
    const reads = async () => {
      for (let i = 0; i < ROUNDS; i++) await db.query('SELECT n FROM counter');
    };
    await Promise.all([viaService(), viaSocket(), viaSocket(), viaService(), reads()]);
    const r = await db.query<{ n: number }>('SELECT n FROM counter');
    expect(r.rows[0]?.n).toBe(4 * ROUNDS);
    expect((await pool.query('SELECT n FROM counter')).rows[0].n).toBe(4 * ROUNDS);
  });

  it('keeps concurrent clients’ parameterised queries apart', async () => {
    const dir = tempDir();
    await service(dir);
    const pools = [client(dir), client(dir), client(dir)];
    const runs = pools.flatMap((p, k) =>
      Array.from({ length: 20 }, async (_, i) => {
        const v = `${k}-${i}`;
        // Each client its own statement text: a Bind landing on another client's Parse would show.
        const r = await p.query(`SELECT $1::text AS v, ${k} AS k`, [v]);
        expect(r.rows[0]).toEqual({ v, k });
      }),
    );
    await Promise.all(runs);
  });

  it('hands the database back after a large answer (sent in many pieces)', async () => {
    const dir = tempDir();
    const db = await service(dir);
    const pool = client(dir);
    const r = await pool.query("SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 20000) AS g");
    expect(r.rows).toHaveLength(20000);
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('rolls back what a client left open when it disconnects, and the service goes on', async () => {
    const dir = tempDir();
    const db = await service(dir);
    await db.exec('CREATE TABLE t (x integer)');
    const c = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres' });
    c.on('error', () => {});
    await c.connect();
    await c.query('BEGIN');
    await c.query('INSERT INTO t VALUES (1)');
    // Gone without COMMIT (a killed command).
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (2)');
    });
    expect((await db.query('SELECT x FROM t ORDER BY x')).rows).toEqual([{ x: 2 }]);
  });

  it('disconnects a client that holds a transaction and goes silent', async () => {
    const dir = tempDir();
    const db = await service(dir, 500);
    await db.exec('CREATE TABLE t (x integer)');
    const c = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres' });
    c.on('error', () => {});
    await c.connect();
    // One message (so no gap of the test's own making inside the transaction), then silence.
    await c.query('BEGIN; INSERT INTO t VALUES (1)');
    // The service's query waits for the silent client, then gets its turn.
    expect((await db.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 0 }]);
    await expect(c.query('COMMIT')).rejects.toThrow();
    await c.end().catch(() => {});
  });

  it('serves a command through the socket while the service owns the directory', async () => {
    const dir = tempDir();
    const db = await service(dir);
    await db.exec('CREATE TABLE t (x integer); INSERT INTO t VALUES (7);');
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\nservice\n`);
    const command = await openCommandEmbedded(dir);
    open.push(command);
    expect(command.kind).toBe('embedded');
    await command.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES ($1)', [8]);
    });
    expect((await db.query('SELECT x FROM t ORDER BY x')).rows).toEqual([{ x: 7 }, { x: 8 }]);
    await command.close();
    // A second service is refused at once, with the owner's pid and no content.
    await expect(openServiceEmbedded(dir)).rejects.toThrow(
      new DatabaseBusyError(
        `the embedded database in ${dir} is in use by process ${process.pid} (the intake service); wait for it to finish or stop it`,
      ),
    );
    await db.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(existsSync(join(dir, SOCKET_FILE))).toBe(false);
  });

  it('lets a command own the directory when no service runs, and releases it on close', async () => {
    const dir = tempDir();
    const db = await openCommandEmbedded(dir);
    open.push(db);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\ncommand\n`);
    expect(existsSync(join(dir, SOCKET_FILE))).toBe(false);
    await db.exec('CREATE TABLE t (x integer)');
    await db.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('recovers the lock of a process that is gone', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), `${deadPid()}\nservice\n`);
    writeFileSync(join(dir, SOCKET_FILE), ''); // what a killed service leaves
    const db = await service(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\nservice\n`);
    await db.query('SELECT 1');
    const c = client(dir);
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('waits for a live owner that does not share, then says who it is', async () => {
    const dir = tempDir();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, LOCK_FILE), `${other.pid}\ncommand\n`);
      const started = Date.now();
      await expect(openCommandEmbedded(dir, { waitMs: 600 })).rejects.toThrow(
        `the embedded database in ${dir} is in use by process ${other.pid} (another intake command); wait for it to finish or stop it`,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      // When it finishes, the next command gets the directory.
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
      const db = await openCommandEmbedded(dir, { waitMs: 600 });
      open.push(db);
      expect(db.kind).toBe('embedded');
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes a lock once per process, and refuses a second holder', () => {
    const dir = tempDir();
    const first = tryLock(dir, 'command');
    expect('lock' in first).toBe(true);
    const second = tryLock(dir, 'command');
    expect(second).toEqual({ holder: { pid: process.pid, owner: 'command' } });
    if ('lock' in first) first.lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });
});
