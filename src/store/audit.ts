/**
 * The audit trail's hash chain (migration 0010): reading its head and verifying it. The database extends the
 * chain on every INSERT (trigger `audit_log_chain`); this file recomputes it independently, in TypeScript, so
 * a change made behind the service's back (an UPDATE or DELETE with the append-only trigger lifted, a
 * restored or edited dump) is found and named.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './db.js';

/** prev_hash of the first entry, and the head hash of an empty trail. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** The fields an entry's hash covers, as the verifier reads them. */
export interface ChainedAuditEntry {
  id: string;
  seq: string;
  /** `at` in whole microseconds since the epoch (decimal), as PostgreSQL stores it. */
  atMicros: string;
  actorId: string | null;
  action: string;
  reportReference: string | null;
  targetId: string | null;
  detail: string | null;
  prevHash: string;
  hash: string;
}

const hex = (v: string | null) => (v === null ? '-' : Buffer.from(v, 'utf8').toString('hex'));

/** The entry's hash, exactly as `audit_entry_hash()` in migration 0010 computes it. */
export function auditEntryHash(e: Omit<ChainedAuditEntry, 'id' | 'hash'>): string {
  const text = [
    'audit.v1',
    e.seq,
    e.atMicros,
    hex(e.actorId),
    hex(e.action),
    hex(e.reportReference),
    hex(e.targetId),
    hex(e.detail),
    e.prevHash,
  ].join('|');
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The head of the chain: the last entry's hash and the number of entries (the last `seq`). */
export interface AuditHead {
  head: string;
  count: number;
}

/** The head as the database records it (updated by the trigger with every append). */
export async function readAuditHead(db: Queryable): Promise<AuditHead> {
  const r = await db.query<{ seq: string; hash: string }>(
    'SELECT seq::text AS seq, hash FROM audit_head WHERE id',
  );
  const row = r.rows[0];
  if (!row) throw new Error('readAuditHead: audit_head is missing (migration 0010 not applied?)');
  return { head: row.hash, count: Number(row.seq) };
}

/** What `verifyAuditChain` found. */
export type AuditVerification =
  | { ok: true; head: string; count: number; foundExpectedHead?: boolean }
  | {
      ok: false;
      /** The first broken entry: its chain position and row id (null when the entry itself is gone). */
      seq: string;
      id: string | null;
      problem: 'changed' | 'deleted' | 'reordered' | 'head';
      message: string;
      /** Entries verified before the break. */
      verified: number;
    };

const BATCH = 1000;

/**
 * Walks the whole chain in `seq` order and stops at the first broken entry:
 * - `changed`: the entry's fields no longer give its stored hash;
 * - `deleted`: a position is missing (a gap in `seq`, or entries after the last one the head recorded);
 * - `reordered`: the entry does not link to the one before it, or positions and row ids disagree;
 * - `head`: the head record does not match the last entry.
 * With `expectedHead` (a hash written down earlier) it also says whether that entry is still in the chain.
 */
export async function verifyAuditChain(
  db: Queryable,
  options: { expectedHead?: string } = {},
): Promise<AuditVerification> {
  const recorded = await readAuditHead(db);
  let prevHash = AUDIT_GENESIS_HASH;
  let prevId: bigint | undefined;
  let expectedSeq = 1n;
  let verified = 0;
  let foundExpected = options.expectedHead === AUDIT_GENESIS_HASH;
  const seen = new Map<string, string>(); // hash -> seq, to tell a reordering from a plain broken link
  let after = 0n;
  for (;;) {
    const r = await db.query<{
      id: string;
      seq: string;
      at_us: string;
      actor_id: string | null;
      action: string;
      report_reference: string | null;
      target_id: string | null;
      detail: string | null;
      prev_hash: string;
      hash: string;
    }>(
      `SELECT id::text AS id, seq::text AS seq, (extract(epoch FROM at) * 1000000)::bigint::text AS at_us,
              actor_id::text AS actor_id, action, report_reference, target_id::text AS target_id, detail,
              prev_hash, hash
         FROM audit_log WHERE audit_log.seq > $1 ORDER BY audit_log.seq LIMIT ${BATCH}`,
      [after.toString()],
    );
    for (const row of r.rows) {
      const seq = BigInt(row.seq);
      const fail = (problem: 'changed' | 'deleted' | 'reordered', message: string, atSeq = row.seq) =>
        ({
          ok: false,
          seq: atSeq,
          id: problem === 'deleted' ? null : row.id,
          problem,
          message,
          verified,
        }) as const;
      if (seq !== expectedSeq) {
        const missing = seq - expectedSeq === 1n ? `${expectedSeq}` : `${expectedSeq} to ${seq - 1n}`;
        return fail('deleted', `entry ${missing} is missing (deleted)`, expectedSeq.toString());
      }
      const computed = auditEntryHash({
        seq: row.seq,
        atMicros: row.at_us,
        actorId: row.actor_id,
        action: row.action,
        reportReference: row.report_reference,
        targetId: row.target_id,
        detail: row.detail,
        prevHash: row.prev_hash,
      });
      if (computed !== row.hash) {
        return fail(
          'changed',
          `entry ${row.seq} (id ${row.id}) was changed: its fields do not match its hash`,
        );
      }
      if (row.prev_hash !== prevHash) {
        const linked = seen.get(row.prev_hash);
        return linked !== undefined
          ? fail(
              'reordered',
              `entry ${row.seq} (id ${row.id}) follows entry ${linked}, not the one before it`,
            )
          : fail(
              'reordered',
              `entry ${row.seq} (id ${row.id}) does not link to entry ${seq - 1n} (an entry was replaced or moved)`,
            );
      }
      const id = BigInt(row.id);
      if (prevId !== undefined && id <= prevId) {
        return fail(
          'reordered',
          `entry ${row.seq} (id ${row.id}) is out of order: its id precedes the one before`,
        );
      }
      if (row.hash === options.expectedHead) foundExpected = true;
      seen.set(row.hash, row.seq);
      prevHash = row.hash;
      prevId = id;
      expectedSeq = seq + 1n;
      verified++;
      after = seq;
    }
    if (r.rows.length < BATCH) break;
  }
  const last = (expectedSeq - 1n).toString();
  if (BigInt(recorded.count) > expectedSeq - 1n) {
    return {
      ok: false,
      seq: expectedSeq.toString(),
      id: null,
      problem: 'deleted',
      message: `entries ${expectedSeq} to ${recorded.count} are missing (deleted from the end; the head records ${recorded.count})`,
      verified,
    };
  }
  if (BigInt(recorded.count) !== expectedSeq - 1n || recorded.head !== prevHash) {
    return {
      ok: false,
      seq: last,
      id: null,
      problem: 'head',
      message: `the head record (entry ${recorded.count}) does not match the last entry (${last})`,
      verified,
    };
  }
  return {
    ok: true,
    head: prevHash,
    count: verified,
    ...(options.expectedHead !== undefined ? { foundExpectedHead: foundExpected } : {}),
  };
}
