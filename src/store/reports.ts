/** Sealed reports, their per-coordinator data keys and the replies sealed to submitters. */
import type { Queryable } from './db.js';

export interface NewReport {
  id: string;
  reference: string;
  inboxId: string;
  flowKind: 'professional' | 'youth';
  channel: string;
  urgency: 'normal' | 'high' | 'immediate';
  envelopeVersion: number;
  nonce: string;
  ciphertext: string;
  receiptTag?: string;
  receiptSalt?: string;
  receiptPublicKey?: string;
  contactSealed?: string;
  receivedAt: Date;
  keys: { coordinatorId: string; sealedKey: string }[];
}

export interface ReportRow {
  id: string;
  reference: string;
  inbox_id: string;
  flow_kind: 'professional' | 'youth';
  channel: string;
  urgency: 'normal' | 'high' | 'immediate';
  status: string;
  envelope_version: number;
  nonce: string;
  ciphertext: string;
  receipt_salt: string | null;
  receipt_public_key: string | null;
  received_at: Date;
  closed_at: Date | null;
}

const COLUMNS =
  'id, reference, inbox_id, flow_kind, channel, urgency, status, envelope_version, nonce, ciphertext, receipt_salt, receipt_public_key, received_at, closed_at';

/**
 * The report and its sealed keys as two data-modifying CTEs (`rr`, `rk`) for a larger statement, inserted once
 * per row of `gate` (a CTE of at most one row: a turn's write inserts its report only if its compare-and-set
 * succeeded). `p` adds a parameter with its cast and returns its placeholder.
 */
export function reportCtes(
  r: NewReport,
  p: (value: unknown, cast: string) => string,
  gate: string,
): string[] {
  return [
    `rr AS (
       INSERT INTO reports (id, reference, inbox_id, flow_kind, channel, urgency, envelope_version, nonce, ciphertext,
                            receipt_tag, receipt_salt, receipt_public_key, contact_sealed, received_at, updated_at)
       SELECT ${p(r.id, 'uuid')}, ${p(r.reference, 'text')}, ${p(r.inboxId, 'text')}, ${p(r.flowKind, 'text')},
              ${p(r.channel, 'text')}, ${p(r.urgency, 'text')}, ${p(r.envelopeVersion, 'int')}, ${p(r.nonce, 'text')},
              ${p(r.ciphertext, 'text')}, ${p(r.receiptTag ?? null, 'text')}, ${p(r.receiptSalt ?? null, 'text')},
              ${p(r.receiptPublicKey ?? null, 'text')}, ${p(r.contactSealed ?? null, 'text')},
              ${p(r.receivedAt, 'timestamptz')}, ${p(r.receivedAt, 'timestamptz')}
         FROM ${gate}
       RETURNING id)`,
    `rk AS (
       INSERT INTO report_keys (report_id, coordinator_id, sealed_key)
       SELECT rr.id, x.coordinator_id, x.sealed_key
         FROM rr, unnest(${p(
           r.keys.map((k) => k.coordinatorId),
           'uuid[]',
         )}, ${p(
           r.keys.map((k) => k.sealedKey),
           'text[]',
         )}) WITH ORDINALITY AS x(coordinator_id, sealed_key, n)
        ORDER BY x.n)`,
  ];
}

export async function insertReport(tx: Queryable, r: NewReport): Promise<void> {
  // The report and its sealed keys in one statement (one round trip whatever the number of coordinators).
  await tx.query(
    `WITH r AS (
       INSERT INTO reports (id, reference, inbox_id, flow_kind, channel, urgency, envelope_version, nonce, ciphertext,
                            receipt_tag, receipt_salt, receipt_public_key, contact_sealed, received_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
       RETURNING id)
     INSERT INTO report_keys (report_id, coordinator_id, sealed_key)
     SELECT r.id, k.coordinator_id, k.sealed_key
       FROM r, unnest($15::uuid[], $16::text[]) WITH ORDINALITY AS k(coordinator_id, sealed_key, n)
      ORDER BY k.n`,
    [
      r.id,
      r.reference,
      r.inboxId,
      r.flowKind,
      r.channel,
      r.urgency,
      r.envelopeVersion,
      r.nonce,
      r.ciphertext,
      r.receiptTag ?? null,
      r.receiptSalt ?? null,
      r.receiptPublicKey ?? null,
      r.contactSealed ?? null,
      r.receivedAt,
      r.keys.map((k) => k.coordinatorId),
      r.keys.map((k) => k.sealedKey),
    ],
    // Every submit: planned once per connection.
    { prepare: true },
  );
}

export async function findReportByReference(
  db: Queryable,
  reference: string,
): Promise<ReportRow | undefined> {
  const r = await db.query<ReportRow>(`SELECT ${COLUMNS} FROM reports WHERE reference = $1`, [reference]);
  return r.rows[0];
}

export async function findReportById(db: Queryable, id: string): Promise<ReportRow | undefined> {
  const r = await db.query<ReportRow>(`SELECT ${COLUMNS} FROM reports WHERE id = $1`, [id]);
  return r.rows[0];
}

export async function findReportByReceiptTag(db: Queryable, tag: string): Promise<ReportRow | undefined> {
  const r = await db.query<ReportRow>(`SELECT ${COLUMNS} FROM reports WHERE receipt_tag = $1`, [tag]);
  return r.rows[0];
}

/** This coordinator's sealed copy of a report's data key. */
export async function sealedKeyFor(
  db: Queryable,
  reportId: string,
  coordinatorId: string,
): Promise<string | undefined> {
  const r = await db.query<{ sealed_key: string }>(
    'SELECT sealed_key FROM report_keys WHERE report_id = $1 AND coordinator_id = $2',
    [reportId, coordinatorId],
  );
  return r.rows[0]?.sealed_key;
}

export interface ReportListFilter {
  coordinatorId: string;
  inboxId?: string;
  status?: string;
  limit?: number;
}

/** Reports of the coordinator's inboxes, newest first, with the coordinator's sealed key when it has one. */
export async function listReportsForCoordinator(
  db: Queryable,
  f: ReportListFilter,
): Promise<(ReportRow & { sealed_key: string | null })[]> {
  const r = await db.query<ReportRow & { sealed_key: string | null }>(
    `SELECT ${COLUMNS.split(', ')
      .map((c) => `r.${c}`)
      .join(', ')}, k.sealed_key
       FROM reports r
       JOIN inbox_members m ON m.inbox_id = r.inbox_id AND m.coordinator_id = $1
       LEFT JOIN report_keys k ON k.report_id = r.id AND k.coordinator_id = $1
      WHERE ($2::text IS NULL OR r.inbox_id = $2) AND ($3::text IS NULL OR r.status = $3)
      ORDER BY r.received_at DESC, r.id DESC
      LIMIT $4`,
    [f.coordinatorId, f.inboxId ?? null, f.status ?? null, f.limit ?? 500],
  );
  return r.rows;
}

/** Every report of an inbox with the granter's sealed key (for re-sealing to a new member). */
export async function inboxReportKeys(
  db: Queryable,
  inboxId: string,
  granterId: string,
): Promise<{ id: string; sealed_key: string | null }[]> {
  const r = await db.query<{ id: string; sealed_key: string | null }>(
    `SELECT r.id, k.sealed_key FROM reports r
       LEFT JOIN report_keys k ON k.report_id = r.id AND k.coordinator_id = $2
      WHERE r.inbox_id = $1 ORDER BY r.received_at`,
    [inboxId, granterId],
  );
  return r.rows;
}

export async function addReportKey(
  tx: Queryable,
  reportId: string,
  coordinatorId: string,
  sealedKey: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO report_keys (report_id, coordinator_id, sealed_key) VALUES ($1, $2, $3)
     ON CONFLICT (report_id, coordinator_id) DO NOTHING`,
    [reportId, coordinatorId, sealedKey],
  );
}

/** Stores a reply sealed to the receipt key, with its author's signature (signReply). */
export async function insertReply(
  tx: Queryable,
  reply: { id: string; reportId: string; sealed: string; authorId: string; signature: string },
): Promise<boolean> {
  // The id is chosen (and signed) by the coordinator's client: an id already used inserts nothing (false).
  const r = await tx.query(
    `INSERT INTO report_replies (id, report_id, sealed, author_id, signature) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [reply.id, reply.reportId, reply.sealed, reply.authorId, reply.signature],
  );
  return r.rows.length > 0;
}

/** A stored reply with what is needed to check it: its signature and its author's keys (with their MAC). */
export interface ReplyRow {
  id: string;
  sealed: string;
  created_at: Date;
  author_id: string | null;
  signature: string | null;
  legacy_mac: string | null;
  author_public_key: string | null;
  author_signing_public_key: string | null;
  author_keys_mac: string | null;
}

export async function listReplies(db: Queryable, reportId: string): Promise<ReplyRow[]> {
  const r = await db.query<ReplyRow>(
    `SELECT r.id, r.sealed, r.created_at, r.author_id, r.signature, r.legacy_mac,
            c.public_key AS author_public_key, c.signing_public_key AS author_signing_public_key,
            c.keys_mac AS author_keys_mac
       FROM report_replies r LEFT JOIN coordinators c ON c.id = r.author_id
      WHERE r.report_id = $1 ORDER BY r.created_at, r.id`,
    [reportId],
  );
  return r.rows;
}

/** Moves a report's receipt lookup tag (master-key rotation). */
export async function updateReceiptTag(tx: Queryable, reportId: string, tag: string): Promise<void> {
  await tx.query('UPDATE reports SET receipt_tag = $2, updated_at = now() WHERE id = $1', [reportId, tag]);
}

/**
 * Every value sealed with the master key's contact subkey: opted-in submitter addresses, coordinators'
 * TOTP secrets, Teams conversation references. A master-key rotation re-seals all of them.
 */
const CONTACT_SEALED = [
  { kind: 'submitter contacts', table: 'reports', id: 'id', column: 'contact_sealed' },
  { kind: 'second-factor secrets', table: 'coordinators', id: 'id', column: 'totp_sealed' },
  { kind: 'Teams links', table: 'teams_links', id: 'coordinator_id', column: 'reference_sealed' },
] as const;

export interface SealedValue {
  kind: (typeof CONTACT_SEALED)[number]['kind'];
  index: number;
  id: string;
  sealed: string;
}

/** Lists every value sealed with the contact subkey. */
export async function listContactSealedValues(db: Queryable): Promise<SealedValue[]> {
  const out: SealedValue[] = [];
  for (const [index, t] of CONTACT_SEALED.entries()) {
    const r = await db.query<{ id: string; sealed: string }>(
      `SELECT ${t.id}::text AS id, ${t.column} AS sealed FROM ${t.table} WHERE ${t.column} IS NOT NULL ORDER BY 1`,
    );
    for (const row of r.rows) out.push({ kind: t.kind, index, id: row.id, sealed: row.sealed });
  }
  return out;
}

/** Replaces one sealed value (same row, same column). */
export async function updateContactSealedValue(db: Queryable, v: SealedValue, sealed: string): Promise<void> {
  const t = CONTACT_SEALED[v.index]!;
  await db.query(`UPDATE ${t.table} SET ${t.column} = $2 WHERE ${t.id}::text = $1`, [v.id, sealed]);
}

/**
 * Deletes reports closed before `closedBefore` and without a follow-up message since (retention: a message
 * to a closed case starts its period again); returns their references. Keys, replies and follow-ups cascade.
 */
export async function purgeClosedReports(db: Queryable, closedBefore: Date): Promise<string[]> {
  const r = await db.query<{ reference: string }>(
    `DELETE FROM reports WHERE closed_at IS NOT NULL AND closed_at < $1
        AND (last_followup_at IS NULL OR last_followup_at < $1) RETURNING reference`,
    [closedBefore],
  );
  return r.rows.map((row) => row.reference);
}

/** How many reports received before `receivedBefore` are still not closed (a count: no reference, no content). */
export async function countUnclosedReports(db: Queryable, receivedBefore: Date): Promise<number> {
  const r = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM reports WHERE closed_at IS NULL AND received_at < $1',
    [receivedBefore],
  );
  return Number(r.rows[0]?.n ?? 0);
}

/** The sealed contact of an opted-in submitter, if any (closed cases have none). */
export async function sealedContactOf(db: Queryable, reportId: string): Promise<string | undefined> {
  const r = await db.query<{ contact_sealed: string | null }>(
    'SELECT contact_sealed FROM reports WHERE id = $1 AND closed_at IS NULL',
    [reportId],
  );
  return r.rows[0]?.contact_sealed ?? undefined;
}
