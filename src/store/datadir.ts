/**
 * The embedded database of a data directory, with one owner at a time (lock.ts):
 *
 * - the service takes the lock, serves the database on a Unix socket in the data directory (share.ts) and
 *   opens PGlite;
 * - an `intake` command goes through that socket when the service holds the lock, takes the lock and opens
 *   PGlite itself when nobody holds it, and waits a bounded time when another command holds it.
 *
 * Never two writers, and no silent fallback: a busy directory is a clear error.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Database } from './db.js';
import { embeddedDatabase, openPglite } from './embedded.js';
import { Gate } from './gate.js';
import { type DataDirLock, type LockHolder, type LockOwner, tryLock } from './lock.js';
import { openPostgres } from './postgres.js';
import { SOCKET_PORT, shareDatabase, socketPathFor, socketProblem } from './share.js';

/** The data directory is held by another live process. The message names it, never any content. */
export class DatabaseBusyError extends Error {
  override name = 'DatabaseBusyError';
  readonly safeMessage = true;
}

export interface DataDirOptions {
  /** How long to wait for another owner to let go (default 10 s). */
  waitMs?: number;
  /** Errors of the pool or socket server (never SQL or content). */
  onError?: (err: Error) => void;
  /** The service: told when the database cannot be shared (then commands cannot run next to it). */
  onNotShared?: (reason: string) => void;
  /** The service: a command holding the database silent for this long is disconnected (default 30 s). */
  unitIdleMs?: number;
}

const POLL_MS = 200;

function busy(dataDir: string, holder: LockHolder, what: string): DatabaseBusyError {
  return new DatabaseBusyError(
    `the embedded database in ${resolve(dataDir)} is in use by process ${holder.pid ?? '(unknown)'} (${what}); wait for it to finish or stop it`,
  );
}

function describe(holder: LockHolder, dataDir: string): string {
  if (holder.owner === 'command') return 'another intake command';
  if (holder.owner === 'service') {
    const problem = socketProblem(dataDir);
    return problem ? `the intake service, which cannot share it: ${problem}` : 'the intake service';
  }
  return 'its lock file is being written';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the lock, waiting up to `waitMs` while a command holds it; another service is refused at once. */
async function lockFor(dataDir: string, owner: LockOwner, waitMs: number): Promise<DataDirLock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = tryLock(dataDir, owner);
    if ('lock' in r) return r.lock;
    if (r.holder.owner === 'service' || Date.now() >= deadline) {
      throw busy(dataDir, r.holder, describe(r.holder, dataDir));
    }
    await sleep(POLL_MS);
  }
}

/** Opens PGlite under `lock`; the lock is released when the database is closed (or could not be opened). */
async function openLocked(
  dataDir: string,
  lock: DataDirLock,
  share?: Omit<DataDirOptions, 'waitMs'>,
): Promise<Database> {
  const gate = new Gate();
  let shared: Awaited<ReturnType<typeof shareDatabase>> | undefined;
  let opened!: (db: PGlite) => void;
  let failed!: (err: unknown) => void;
  const ready = new Promise<PGlite>((res, rej) => {
    opened = res;
    failed = rej;
  });
  ready.catch(() => {}); // clients waiting on it are disconnected when the service stops
  try {
    // A socket file is the service's: one left by a service that was killed is removed.
    if (!share) rmSync(socketPathFor(dataDir), { force: true });
    if (share) {
      const problem = socketProblem(dataDir);
      if (problem) share.onNotShared?.(problem);
      else {
        // Listening before PGlite is open (seconds on a first start): a command started meanwhile connects
        // and waits instead of finding a locked directory with no socket.
        shared = await shareDatabase({
          path: socketPathFor(dataDir),
          gate,
          db: ready,
          ...(share.unitIdleMs ? { unitIdleMs: share.unitIdleMs } : {}),
          ...(share.onError ? { onError: share.onError } : {}),
        });
      }
    }
    const pglite = await openPglite(join(dataDir, 'pgdata'));
    opened(pglite);
    return embeddedDatabase(pglite, gate, {
      ...(shared ? { beforeClose: shared.close } : {}),
      afterClose: lock.release,
    });
  } catch (err) {
    failed(err);
    await shared?.close().catch(() => {});
    lock.release();
    throw err;
  }
}

/** The service's embedded database: the lock, the socket, PGlite. */
export async function openServiceEmbedded(dataDir: string, options: DataDirOptions = {}): Promise<Database> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lock = await lockFor(dataDir, 'service', options.waitMs ?? 10_000);
  return openLocked(dataDir, lock, options);
}

/**
 * An `intake` command's embedded database: the service's, through its socket, when the service runs;
 * otherwise its own, under the lock.
 */
export async function openCommandEmbedded(dataDir: string, options: DataDirOptions = {}): Promise<Database> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    const r = tryLock(dataDir, 'command');
    if ('lock' in r) return openLocked(dataDir, r.lock);
    if (r.holder.owner === 'service' && !socketProblem(dataDir)) {
      const db = openPostgres({
        host: resolve(dataDir),
        port: SOCKET_PORT,
        user: 'postgres',
        database: 'postgres',
        max: 1,
        // Waiting for the service's turn (or for its first start) is normal here.
        connectionTimeoutMs: 60_000,
        statementTimeoutMs: 0,
        ...(options.onError ? { onError: options.onError } : {}),
      });
      try {
        await db.query('SELECT 1');
        return { ...db, kind: 'embedded' };
      } catch {
        // Not listening (yet, or any more): look at the lock again.
        await db.close().catch(() => {});
      }
    }
    if (Date.now() >= deadline) throw busy(dataDir, r.holder, describe(r.holder, dataDir));
    await sleep(POLL_MS);
  }
}
