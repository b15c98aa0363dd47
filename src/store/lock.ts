/**
 * One owner for the embedded database's data directory. PGlite keeps its database in memory and writes it to
 * INTAKE_DATA_DIR/pgdata: two processes opening it at once each work on their own copy and lose each other's
 * writes. The owner holds `INTAKE_DATA_DIR/pgdata.lock`, created atomically (`wx`), holding its pid and what
 * it is ("service" or "command"). A lock whose process is gone (killed, crashed) is stale and is recovered.
 * The lock is removed when the owner closes the database, and when its process exits.
 */
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'pgdata.lock';

export type LockOwner = 'service' | 'command';

/** What the lock file says about its owner (`pid` undefined: the file is being written, or damaged). */
export interface LockHolder {
  pid: number | undefined;
  owner: LockOwner | undefined;
}

export interface DataDirLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void;
}

// Locks this process holds: a second open of the same directory in one process is refused like any other.
const heldHere = new Set<string>();

/** True while a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockPath(dataDir: string): string {
  return join(dataDir, LOCK_FILE);
}

function readHolder(path: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const [pidLine, ownerLine] = text.split('\n');
  const pid = /^[1-9][0-9]{0,9}$/.test(pidLine ?? '') ? Number(pidLine) : undefined;
  const owner = ownerLine === 'service' || ownerLine === 'command' ? ownerLine : undefined;
  return { pid, owner };
}

// A lock file without a readable pid is one being written (create and write are two steps); one that stays
// so for this long was left by a process that died in between.
const UNREADABLE_STALE_MS = 5000;

function isStale(path: string, holder: LockHolder): boolean {
  if (holder.pid === undefined) {
    try {
      return Date.now() - statSync(path).mtimeMs > UNREADABLE_STALE_MS;
    } catch {
      return false;
    }
  }
  // Our own pid in a lock this process does not hold: left by an earlier process that had the same pid
  // (a container restarted with the same numbering).
  if (holder.pid === process.pid) return !heldHere.has(path);
  return !pidAlive(holder.pid);
}

/**
 * Removes a stale lock. Two processes may find the same stale lock at once: the one that removes it and
 * creates its own must not see the other remove that new lock. A short-lived second lock file makes
 * "check again, then remove" one step.
 */
function removeStale(path: string, seen: LockHolder): void {
  const guard = `${path}.recover`;
  try {
    writeFileSync(guard, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Held for microseconds by a live process; a left-over one (its process died right then) is cleared.
    const other = readHolder(guard);
    if (other && isStale(guard, other)) {
      try {
        unlinkSync(guard);
      } catch {}
    }
    return;
  }
  try {
    const now = readHolder(path);
    if (now && now.pid === seen.pid && isStale(path, now)) unlinkSync(path);
  } finally {
    unlinkSync(guard);
  }
}

/**
 * Takes the lock of `dataDir`, or says who holds it. A stale lock is recovered on the way. Never waits.
 */
export function tryLock(dataDir: string, owner: LockOwner): { lock: DataDirLock } | { holder: LockHolder } {
  const path = lockPath(dataDir);
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n${owner}\n`, { flag: 'wx', mode: 0o600 });
      return { lock: held(path) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(path);
    if (!holder) continue; // removed between our attempt and the read: try again
    if (attempt < 3 && isStale(path, holder)) {
      removeStale(path, holder);
      continue;
    }
    return { holder };
  }
  return { holder: { pid: undefined, owner: undefined } };
}

function held(path: string): DataDirLock {
  heldHere.add(path);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    heldHere.delete(path);
    process.off('exit', release);
    try {
      if (readHolder(path)?.pid === process.pid) unlinkSync(path);
    } catch {
      // Already gone: nothing to release.
    }
  };
  // Signals are the owner's business (the service shuts down gracefully, the CLI closes and exits): both
  // end in 'exit' when they do not close first. Only SIGKILL and a crash of the machine leave the file.
  process.on('exit', release);
  return { path, release };
}
