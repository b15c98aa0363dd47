/**
 * The service shares its embedded database with `intake` commands over a Unix socket in the data directory
 * (`INTAKE_DATA_DIR/.s.PGSQL.5432`, the name `pg` and `psql` look for in a socket directory), speaking the
 * PostgreSQL protocol through `@electric-sql/pglite-socket`'s connection handler.
 *
 * PGlite is a single session. pglite-socket's own server (`PGLiteSocketServer`) queues protocol messages from
 * all its clients on it, but it keeps one client's messages together only while a transaction block is open
 * (`isInTransaction()`), and it takes only PGlite's query mutex, not the one PGlite's own `transaction()`
 * holds: a client's statements could land inside a transaction of the service and the other way round, two
 * clients' Parse/Bind/Execute could interleave, and a client that disconnects at the wrong moment can stall
 * its queue for good (upstream issues #985 and #1046). So this module uses pglite-socket's per-connection
 * handler (framing, SSL refusal) with its own queue:
 *
 * - a client holds the database from its first message until PGlite answers ReadyForQuery with status idle
 *   ('I'): a whole simple query, a whole Parse..Sync exchange, a whole transaction;
 * - it holds it through the same `Gate` as the service's own queries and transactions, so they never
 *   interleave either;
 * - a client that disconnects while it holds it has its exchange ended (Sync) and its transaction rolled
 *   back, and so does one that keeps it without sending anything for `unitIdleMs` (it is disconnected).
 *
 * All clients share one session: session settings (SET), prepared statement names and temporary tables are
 * shared too. The `intake` commands use none of them.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Gate } from './gate.js';

/** The socket's file name: `pg` connects to `${host}/.s.PGSQL.${port}` when `host` is a directory. */
export const SOCKET_PORT = 5432;
export const SOCKET_FILE = `.s.PGSQL.${SOCKET_PORT}`;

/** The longest Unix socket path that works everywhere (sun_path is 104 bytes on macOS, 108 on Linux). */
const MAX_SOCKET_PATH = 103;

export function socketPathFor(dataDir: string): string {
  return join(resolve(dataDir), SOCKET_FILE);
}

/** Why the socket cannot be made for this data directory, or undefined when it can. */
export function socketProblem(dataDir: string): string | undefined {
  const path = socketPathFor(dataDir);
  if (process.platform === 'win32') return 'Unix sockets are not available on this system';
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    return `its socket path would be longer than ${MAX_SOCKET_PATH} bytes (use a shorter INTAKE_DATA_DIR)`;
  }
  return undefined;
}

export interface SharedDatabase {
  readonly path: string;
  /** Stops accepting clients, waits for the one holding the database to finish, disconnects the others. */
  close(): Promise<void>;
}

export interface ShareOptions {
  /** The socket file (see socketPathFor). */
  path: string;
  gate: Gate;
  /** Resolves when the database is open; clients may connect before and wait. */
  db: Promise<PGlite>;
  /** A client holding the database without sending anything for this long is disconnected. */
  unitIdleMs?: number;
  /** Called on errors of the socket server (never with SQL or content). */
  onError?: (err: Error) => void;
}

const TERMINATE = 0x58; // 'X'
// ReadyForQuery with status idle: 'Z', length 5, 'I'. PGlite ends each answer with it when nothing is open.
const READY_IDLE = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
// Ending whatever a client left half done: CopyFail (ignored outside COPY), Sync (ends an extended-protocol
// exchange, ignored otherwise), then ROLLBACK when a transaction block is still open.
const COPY_FAIL = message('f', Buffer.from('client disconnected\0'));
const SYNC = message('S', Buffer.alloc(0));
const ROLLBACK = message('Q', Buffer.from('ROLLBACK\0'));

function message(type: string, body: Buffer): Uint8Array {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return new Uint8Array(out);
}

const discard = () => {};

/**
 * The queue pglite-socket's handler talks to (`enqueue`, `clearQueueForHandler`, `clearTransactionIfNeeded`,
 * `getQueueLength`): one client at a time, for whole exchanges, through the gate.
 */
class SharedSession {
  #owner: number | undefined; // the client holding the gate, -1 while its exchange is being ended
  #tails = new Map<number, Promise<unknown>>();
  #gone = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  #queued = 0;

  constructor(
    private readonly db: Promise<PGlite>,
    private readonly gate: Gate,
    private readonly unitIdleMs: number,
    private readonly onStuck: (handlerId: number) => void,
  ) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    // A client's messages run in the order they arrived, whatever the handler's own scheduling.
    const previous = this.#tails.get(handlerId) ?? Promise.resolve();
    this.#queued++;
    const run = previous.then(() => this.#run(handlerId, message, onData));
    const settled = run.then(
      () => {
        this.#queued--;
      },
      () => {
        this.#queued--;
      },
    );
    this.#tails.set(handlerId, settled);
    return run;
  }

  getQueueLength(): number {
    return this.#queued;
  }

  clearQueueForHandler(handlerId: number): void {
    this.#gone.add(handlerId);
  }

  /** Called when a client goes away: once its last message is done, ends what it left open. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    this.#gone.add(handlerId);
    await this.#tails.get(handlerId);
    this.#tails.delete(handlerId);
    await this.#end(handlerId);
    this.#gone.delete(handlerId);
  }

  async #run(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    if (this.#gone.has(handlerId)) throw new Error('client disconnected');
    const db = await this.db;
    if (this.#owner !== handlerId) {
      // Terminate outside an exchange: nothing to run (PGlite ignores it anyway).
      if (message[0] === TERMINATE) return 0;
      await this.gate.acquire();
      if (this.#gone.has(handlerId)) {
        this.gate.release();
        throw new Error('client disconnected');
      }
      this.#owner = handlerId;
    }
    this.#clearTimer();
    let bytes = 0;
    let tail = Buffer.alloc(0);
    try {
      await db.runExclusive(() =>
        db.execProtocolRawStream(message, {
          onRawData: (data) => {
            bytes += data.length;
            const end = Buffer.from(data.subarray(-READY_IDLE.length));
            tail = Buffer.concat([tail, end]).subarray(-READY_IDLE.length);
            onData(data);
          },
        }),
      );
    } catch (err) {
      await this.#end(handlerId);
      throw err;
    }
    if (tail.equals(READY_IDLE)) this.#free();
    else this.#armTimer(handlerId);
    return bytes;
  }

  /** Ends the exchange and transaction `handlerId` left open, if it holds the gate, and frees the gate. */
  async #end(handlerId: number): Promise<void> {
    if (this.#owner !== handlerId) return;
    this.#owner = -1;
    this.#clearTimer();
    try {
      const db = await this.db;
      await db.runExclusive(async () => {
        await db.execProtocolRawStream(COPY_FAIL, { onRawData: discard });
        await db.execProtocolRawStream(SYNC, { onRawData: discard });
        if (db.isInTransaction()) await db.execProtocolRawStream(ROLLBACK, { onRawData: discard });
      });
    } catch {
      // The database itself failed: the gate is freed all the same, the next caller gets the error.
    } finally {
      this.#free();
    }
  }

  #free() {
    this.#clearTimer();
    this.#owner = undefined;
    this.gate.release();
  }

  #armTimer(handlerId: number) {
    this.#timer = setTimeout(() => {
      if (this.#owner === handlerId) this.onStuck(handlerId);
    }, this.unitIdleMs);
    this.#timer.unref();
  }

  #clearTimer() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Starts serving the database on `options.path` (mode 0600). The caller holds the data directory's lock. */
export async function shareDatabase(options: ShareOptions): Promise<SharedDatabase> {
  // Loaded only for the embedded database.
  const { PGLiteSocketHandler } = await import('@electric-sql/pglite-socket');
  type QueryQueue = ConstructorParameters<typeof PGLiteSocketHandler>[0]['queryQueue'];
  const sockets = new Map<number, Socket>();
  const session = new SharedSession(options.db, options.gate, options.unitIdleMs ?? 30_000, (id) =>
    sockets.get(id)?.destroy(),
  );
  let closing = false;
  const server: Server = createServer((socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const handler = new PGLiteSocketHandler({
      // Structurally what the handler calls; its declared type is pglite-socket's private class.
      queryQueue: session as unknown as QueryQueue,
      closeOnDetach: true,
    });
    sockets.set(handler.handlerId, socket);
    socket.once('close', () => sockets.delete(handler.handlerId));
    handler.attach(socket).catch(() => socket.destroy());
  });
  server.on('error', (err) => options.onError?.(err));

  // The lock is ours: a socket file left here is from an owner that is gone.
  if (existsSync(options.path)) unlinkSync(options.path);
  const listening = new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  // Created 0600 from the start, not only after a chmod: nobody else may connect in between. Node binds a
  // Unix socket synchronously inside listen(), so the umask is changed for that call only.
  const umask = process.umask(0o177);
  try {
    server.listen(options.path);
  } finally {
    process.umask(umask);
  }
  await listening;
  chmodSync(options.path, 0o600);

  return {
    path: options.path,
    async close() {
      if (closing) return;
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      // Let the client holding the database finish its exchange, then disconnect everyone.
      await options.gate.run(async () => {
        for (const socket of sockets.values()) socket.destroy();
      });
      await closed;
      try {
        unlinkSync(options.path);
      } catch {
        // Node removes it when the server closes.
      }
    },
  };
}
