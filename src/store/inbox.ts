/**
 * Coordinator inbox queries: sessions, login throttling, second factor, the queue with keyset pagination,
 * workflow changes, encrypted notes and the append-only audit trail. No report content is ever read or
 * written in clear here: notes and replies arrive already encrypted by the coordinator's browser.
 */
import type { Queryable } from './db.js';

// --- Sessions ---------------------------------------------------------------------------------------------

export interface SessionRow {
  token_hash: string;
  coordinator_id: string;
  csrf_hash: string;
  restricted: boolean;
  last_seen_at: Date;
}

export async function insertSession(
  db: Queryable,
  s: { tokenHash: string; coordinatorId: string; csrfHash: string; restricted: boolean },
): Promise<void> {
  await db.query(
    'INSERT INTO inbox_sessions (token_hash, coordinator_id, csrf_hash, restricted) VALUES ($1, $2, $3, $4)',
    [s.tokenHash, s.coordinatorId, s.csrfHash, s.restricted],
  );
}

/**
 * The live session of a token hash, touched (last_seen_at = now) in the same statement. A session idle for
 * longer than `idleSeconds`, or created more than `maxSeconds` ago however active, is deleted and not
 * returned.
 */
export async function touchSession(
  db: Queryable,
  tokenHash: string,
  idleSeconds: number,
  maxSeconds: number,
): Promise<SessionRow | undefined> {
  const r = await db.query<SessionRow>(
    `UPDATE inbox_sessions SET last_seen_at = now()
      WHERE token_hash = $1 AND last_seen_at > now() - make_interval(secs => $2)
        AND created_at > now() - make_interval(secs => $3)
      RETURNING token_hash, coordinator_id, csrf_hash, restricted, last_seen_at`,
    [tokenHash, idleSeconds, maxSeconds],
  );
  if (r.rows[0]) return r.rows[0];
  await db.query('DELETE FROM inbox_sessions WHERE token_hash = $1', [tokenHash]);
  return undefined;
}

export async function deleteSession(db: Queryable, tokenHash: string): Promise<void> {
  await db.query('DELETE FROM inbox_sessions WHERE token_hash = $1', [tokenHash]);
}

export async function deleteSessionsOf(db: Queryable, coordinatorId: string): Promise<void> {
  await db.query('DELETE FROM inbox_sessions WHERE coordinator_id = $1', [coordinatorId]);
}

export async function setSessionRestricted(db: Queryable, tokenHash: string, restricted: boolean) {
  await db.query('UPDATE inbox_sessions SET restricted = $2 WHERE token_hash = $1', [tokenHash, restricted]);
}

/** Deletes sessions idle for longer than `idleSeconds` or older than `maxSeconds`. Returns how many. */
export async function purgeIdleSessions(
  db: Queryable,
  idleSeconds: number,
  maxSeconds: number,
): Promise<number> {
  const r = await db.query<{ n: number }>(
    `WITH d AS (DELETE FROM inbox_sessions WHERE last_seen_at <= now() - make_interval(secs => $1)
                   OR created_at <= now() - make_interval(secs => $2) RETURNING 1)
     SELECT count(*)::int AS n FROM d`,
    [idleSeconds, maxSeconds],
  );
  return r.rows[0]?.n ?? 0;
}

// --- Login throttling -------------------------------------------------------------------------------------

export async function loginLockedUntil(db: Queryable, loginHash: string): Promise<Date | undefined> {
  const r = await db.query<{ locked_until: Date | null }>(
    'SELECT locked_until FROM inbox_login_failures WHERE login_hash = $1 AND locked_until > now()',
    [loginHash],
  );
  return r.rows[0]?.locked_until ?? undefined;
}

/**
 * Records a failed login under a keyed name (a (login, address) pair or a login's global count: see
 * src/inbox/throttle.ts) and returns the failure count; from `freeFailures` on, the name is locked
 * for `baseSeconds * 2^(failures - freeFailures)` seconds, at most `maxSeconds`.
 */
export async function recordLoginFailure(
  db: Queryable,
  loginHash: string,
  policy: { freeFailures: number; baseSeconds: number; maxSeconds: number },
): Promise<{ failures: number; lockedUntil: Date | null }> {
  const r = await db.query<{ failures: number; locked_until: Date | null }>(
    `INSERT INTO inbox_login_failures AS f (login_hash, failures, last_failure_at) VALUES ($1, 1, now())
     ON CONFLICT (login_hash) DO UPDATE
       -- A day without failure starts the count over: old typos do not add up to a lock months later.
       SET failures = CASE WHEN f.last_failure_at < now() - interval '24 hours' THEN 1 ELSE f.failures + 1 END,
           last_failure_at = now()
     RETURNING failures, locked_until`,
    [loginHash],
  );
  const failures = r.rows[0]?.failures ?? 1;
  if (failures < policy.freeFailures) return { failures, lockedUntil: null };
  const seconds = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** (failures - policy.freeFailures));
  const u = await db.query<{ locked_until: Date }>(
    `UPDATE inbox_login_failures SET locked_until = now() + make_interval(secs => $2)
      WHERE login_hash = $1 RETURNING locked_until`,
    [loginHash, seconds],
  );
  return { failures, lockedUntil: u.rows[0]?.locked_until ?? null };
}

/** Forgets failure counters idle for more than a day and no longer locking (retention). */
export async function purgeLoginFailures(db: Queryable, now: Date): Promise<number> {
  const r = await db.query<{ login_hash: string }>(
    `DELETE FROM inbox_login_failures
      WHERE last_failure_at < $1::timestamptz - interval '24 hours'
        AND (locked_until IS NULL OR locked_until < $1::timestamptz) RETURNING login_hash`,
    [now],
  );
  return r.rows.length;
}

export async function clearLoginFailures(db: Queryable, loginHash: string): Promise<void> {
  await db.query('DELETE FROM inbox_login_failures WHERE login_hash = $1', [loginHash]);
}

// --- Second factor ----------------------------------------------------------------------------------------

export interface TotpRow {
  totp_sealed: string | null;
  totp_enabled_at: Date | null;
  totp_last_step: string | null;
}

export async function totpOf(db: Queryable, coordinatorId: string): Promise<TotpRow | undefined> {
  const r = await db.query<TotpRow>(
    'SELECT totp_sealed, totp_enabled_at, totp_last_step FROM coordinators WHERE id = $1',
    [coordinatorId],
  );
  return r.rows[0];
}

/** Stores a pending (not yet enabled) TOTP secret, sealed. */
export async function setPendingTotp(db: Queryable, coordinatorId: string, sealed: string): Promise<void> {
  await db.query(
    `UPDATE coordinators SET totp_sealed = $2, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = now()
      WHERE id = $1`,
    [coordinatorId, sealed],
  );
}

export async function enableTotp(db: Queryable, coordinatorId: string, step: number): Promise<void> {
  await db.query(
    'UPDATE coordinators SET totp_enabled_at = now(), totp_last_step = $2, updated_at = now() WHERE id = $1',
    [coordinatorId, step],
  );
}

/** Records the time step of an accepted code; false when it (or a later one) was already used. */
export async function useTotpStep(db: Queryable, coordinatorId: string, step: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE coordinators SET totp_last_step = $2
      WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id`,
    [coordinatorId, step],
  );
  return r.rows.length > 0;
}

export async function resetTotp(db: Queryable, coordinatorId: string): Promise<void> {
  await db.query(
    `UPDATE coordinators SET totp_sealed = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = now()
      WHERE id = $1`,
    [coordinatorId],
  );
}

// --- Coordinators (admin) ---------------------------------------------------------------------------------

export interface CoordinatorSummary {
  id: string;
  login: string;
  display_name: string;
  role: 'coordinator' | 'admin';
  public_key: string;
  disabled_at: Date | null;
  totp_enabled_at: Date | null;
  inboxes: string[];
}

export async function listCoordinators(db: Queryable): Promise<CoordinatorSummary[]> {
  const r = await db.query<CoordinatorSummary>(
    `SELECT c.id, c.login, c.display_name, c.role, c.public_key, c.disabled_at, c.totp_enabled_at,
            coalesce(array_agg(m.inbox_id ORDER BY m.inbox_id) FILTER (WHERE m.inbox_id IS NOT NULL), '{}') AS inboxes
       FROM coordinators c LEFT JOIN inbox_members m ON m.coordinator_id = c.id
      GROUP BY c.id ORDER BY c.login`,
  );
  return r.rows;
}

/** Active members of the given inboxes (for assignment): id, name, their inboxes. */
export async function membersOf(
  db: Queryable,
  inboxIds: string[],
): Promise<{ id: string; display_name: string; inbox_id: string }[]> {
  const r = await db.query<{ id: string; display_name: string; inbox_id: string }>(
    `SELECT c.id, c.display_name, m.inbox_id FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id
      WHERE m.inbox_id = ANY($1::text[]) AND c.disabled_at IS NULL ORDER BY c.display_name, c.id`,
    [inboxIds],
  );
  return r.rows;
}

export async function setCoordinatorDisabled(db: Queryable, id: string, disabled: boolean): Promise<boolean> {
  const r = await db.query(
    `UPDATE coordinators SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) ELSE NULL END,
            updated_at = now() WHERE id = $1 RETURNING id`,
    [id, disabled],
  );
  return r.rows.length > 0;
}

/** Changes an account's role; false for an unknown account. */
export async function setCoordinatorRole(
  db: Queryable,
  id: string,
  role: 'coordinator' | 'admin',
): Promise<boolean> {
  const r = await db.query(
    'UPDATE coordinators SET role = $2, updated_at = now() WHERE id = $1 RETURNING id',
    [id, role],
  );
  return r.rows.length > 0;
}

// --- Queue ------------------------------------------------------------------------------------------------

export interface QueueRow {
  id: string;
  reference: string;
  inbox_id: string;
  flow_kind: 'professional' | 'youth';
  channel: string;
  urgency: 'normal' | 'high' | 'immediate';
  status: string;
  received_at: Date;
  first_opened_at: Date | null;
  evaluated_at: Date | null;
  closed_at: Date | null;
  assigned_to: string | null;
  partner_id: string | null;
  close_reason: string | null;
  duplicate_of: string | null;
  has_receipt: boolean;
  has_key: boolean;
  /** When the submitter last sent a follow-up message (null: never). */
  last_followup_at: Date | null;
  /** A follow-up newer than the last time a coordinator opened the case. */
  new_followup: boolean;
}

export interface QueueFilter {
  coordinatorId: string;
  inboxes?: string[];
  statuses?: string[];
  urgencies?: string[];
  kinds?: string[];
  channels?: string[];
  receivedFrom?: Date;
  receivedTo?: Date;
  /** A coordinator id, or 'none' for unassigned reports. */
  assignedTo?: string;
  /** Only cases with a follow-up message no coordinator has opened yet (whatever their status). */
  newFollowUp?: boolean;
  order: 'desc' | 'asc';
  /** Keyset cursor: the (received_at, id) of the last row of the previous page. */
  after?: { receivedAt: Date; id: string };
  limit: number;
}

const NEW_FOLLOWUP =
  '(r.last_followup_at IS NOT NULL AND (r.followup_seen_at IS NULL OR r.followup_seen_at < r.last_followup_at))';

const QUEUE_COLUMNS = `r.id, r.reference, r.inbox_id, r.flow_kind, r.channel, r.urgency, r.status, r.received_at,
  r.first_opened_at, r.evaluated_at, r.closed_at, r.assigned_to, r.partner_id, r.close_reason, r.duplicate_of,
  (r.receipt_public_key IS NOT NULL) AS has_receipt, (k.sealed_key IS NOT NULL) AS has_key, r.last_followup_at,
  ${NEW_FOLLOWUP} AS new_followup`;

/** One page of the caller's queue (only reports of inboxes it is a member of). */
export async function listQueue(db: Queryable, f: QueueFilter): Promise<QueueRow[]> {
  const params: unknown[] = [f.coordinatorId];
  const where: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (f.inboxes?.length) add((p) => `r.inbox_id = ANY(${p}::text[])`, f.inboxes);
  if (f.statuses?.length) add((p) => `r.status = ANY(${p}::text[])`, f.statuses);
  if (f.urgencies?.length) add((p) => `r.urgency = ANY(${p}::text[])`, f.urgencies);
  if (f.kinds?.length) add((p) => `r.flow_kind = ANY(${p}::text[])`, f.kinds);
  if (f.channels?.length) add((p) => `r.channel = ANY(${p}::text[])`, f.channels);
  if (f.receivedFrom) add((p) => `r.received_at >= ${p}`, f.receivedFrom);
  if (f.receivedTo) add((p) => `r.received_at < ${p}`, f.receivedTo);
  if (f.assignedTo === 'none') where.push('r.assigned_to IS NULL');
  else if (f.assignedTo) add((p) => `r.assigned_to = ${p}::uuid`, f.assignedTo);
  if (f.newFollowUp) where.push(NEW_FOLLOWUP);
  const cmp = f.order === 'desc' ? '<' : '>';
  if (f.after) {
    params.push(f.after.receivedAt, f.after.id);
    where.push(`(r.received_at, r.id) ${cmp} ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(f.limit);
  const dir = f.order === 'desc' ? 'DESC' : 'ASC';
  const r = await db.query<QueueRow>(
    `SELECT ${QUEUE_COLUMNS}
       FROM reports r
       JOIN inbox_members m ON m.inbox_id = r.inbox_id AND m.coordinator_id = $1
       LEFT JOIN report_keys k ON k.report_id = r.id AND k.coordinator_id = $1
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY r.received_at ${dir}, r.id ${dir}
      LIMIT $${params.length}`,
    params,
  );
  return r.rows;
}

export interface CaseRow extends QueueRow {
  envelope_version: number;
  nonce: string;
  ciphertext: string;
  receipt_public_key: string | null;
  sealed_key: string | null;
}

/** A report of one of the caller's inboxes, with the caller's sealed data key; undefined otherwise. */
export async function findCaseForCoordinator(
  db: Queryable,
  reference: string,
  coordinatorId: string,
): Promise<CaseRow | undefined> {
  const r = await db.query<CaseRow>(
    `SELECT ${QUEUE_COLUMNS}, r.envelope_version, r.nonce, r.ciphertext, r.receipt_public_key, k.sealed_key
       FROM reports r
       JOIN inbox_members m ON m.inbox_id = r.inbox_id AND m.coordinator_id = $2
       LEFT JOIN report_keys k ON k.report_id = r.id AND k.coordinator_id = $2
      WHERE r.reference = $1`,
    [reference, coordinatorId],
  );
  return r.rows[0];
}

/** Sets first_opened_at when still empty. */
export async function markOpened(db: Queryable, reportId: string): Promise<void> {
  await db.query('UPDATE reports SET first_opened_at = now() WHERE id = $1 AND first_opened_at IS NULL', [
    reportId,
  ]);
}

/**
 * Moves a report from `from` to `to` (compare-and-set: false when its status changed meanwhile) and
 * records the transition.
 */
export async function applyTransition(
  tx: Queryable,
  t: {
    id: string;
    reportId: string;
    from: string;
    to: string;
    actorId: string;
    reason?: string | undefined;
    partnerId?: string | undefined;
    duplicateOf?: string | undefined;
    closes: boolean;
    evaluates: boolean;
  },
): Promise<boolean> {
  const r = await tx.query(
    `UPDATE reports SET status = $3, updated_at = now(),
            partner_id = coalesce($4, partner_id),
            close_reason = CASE WHEN $6 THEN $5 ELSE close_reason END,
            duplicate_of = coalesce($7, duplicate_of),
            closed_at = CASE WHEN $6 THEN now() ELSE NULL END,
            contact_sealed = CASE WHEN $6 THEN NULL ELSE contact_sealed END,
            evaluated_at = CASE WHEN $8 THEN coalesce(evaluated_at, now()) ELSE evaluated_at END
      WHERE id = $1 AND status = $2 RETURNING id`,
    [
      t.reportId,
      t.from,
      t.to,
      t.partnerId ?? null,
      t.reason ?? null,
      t.closes,
      t.duplicateOf ?? null,
      t.evaluates,
    ],
  );
  if (r.rows.length === 0) return false;
  await tx.query(
    `INSERT INTO report_transitions (id, report_id, from_status, to_status, actor_id, reason, partner_id, duplicate_of)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [t.id, t.reportId, t.from, t.to, t.actorId, t.reason ?? null, t.partnerId ?? null, t.duplicateOf ?? null],
  );
  return true;
}

export interface TransitionRow {
  id: string;
  from_status: string;
  to_status: string;
  actor_id: string;
  actor_name: string;
  reason: string | null;
  partner_id: string | null;
  duplicate_of: string | null;
  created_at: Date;
}

export async function listTransitions(db: Queryable, reportId: string): Promise<TransitionRow[]> {
  const r = await db.query<TransitionRow>(
    `SELECT t.id, t.from_status, t.to_status, t.actor_id, c.display_name AS actor_name, t.reason, t.partner_id,
            t.duplicate_of, t.created_at
       FROM report_transitions t JOIN coordinators c ON c.id = t.actor_id
      WHERE t.report_id = $1 ORDER BY t.created_at, t.id`,
    [reportId],
  );
  return r.rows;
}

export async function assignReport(db: Queryable, reportId: string, coordinatorId: string | null) {
  await db.query('UPDATE reports SET assigned_to = $2, updated_at = now() WHERE id = $1', [
    reportId,
    coordinatorId,
  ]);
}

// --- Notes and replies ------------------------------------------------------------------------------------

export async function insertNote(
  db: Queryable,
  n: { id: string; reportId: string; authorId: string; ciphertext: string; signature: string },
): Promise<Date | undefined> {
  // A client-chosen id (it is signed and in the note's associated data) that already exists: undefined.
  const r = await db.query<{ created_at: Date }>(
    `INSERT INTO report_notes (id, report_id, author_id, ciphertext, signature) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO NOTHING RETURNING created_at`,
    [n.id, n.reportId, n.authorId, n.ciphertext, n.signature],
  );
  return r.rows[0]?.created_at;
}

export interface NoteRow {
  id: string;
  author_id: string;
  author_name: string;
  ciphertext: string;
  signature: string | null;
  author_public_key: string;
  author_signing_public_key: string | null;
  author_keys_mac: string | null;
  created_at: Date;
}

export async function listNotes(db: Queryable, reportId: string): Promise<NoteRow[]> {
  const r = await db.query<NoteRow>(
    `SELECT n.id, n.author_id, c.display_name AS author_name, n.ciphertext, n.signature,
            c.public_key AS author_public_key, c.signing_public_key AS author_signing_public_key,
            c.keys_mac AS author_keys_mac, n.created_at
       FROM report_notes n JOIN coordinators c ON c.id = n.author_id
      WHERE n.report_id = $1 ORDER BY n.created_at, n.id`,
    [reportId],
  );
  return r.rows;
}

/** The coordinators a report's data key is sealed to (at submission or by a later grant). */
export async function reportRecipients(
  db: Queryable,
  reportId: string,
): Promise<{ id: string; login: string; display_name: string; disabled_at: Date | null }[]> {
  const r = await db.query<{ id: string; login: string; display_name: string; disabled_at: Date | null }>(
    `SELECT c.id, c.login, c.display_name, c.disabled_at
       FROM report_keys k JOIN coordinators c ON c.id = k.coordinator_id
      WHERE k.report_id = $1 ORDER BY c.display_name, c.id`,
    [reportId],
  );
  return r.rows;
}

/** Reply metadata of a report (the sealed text itself only opens with the submitter's receipt). */
export async function listReplyMeta(
  db: Queryable,
  reportId: string,
): Promise<{ id: string; author_name: string | null; created_at: Date }[]> {
  const r = await db.query<{ id: string; author_name: string | null; created_at: Date }>(
    `SELECT r.id, c.display_name AS author_name, r.created_at
       FROM report_replies r LEFT JOIN coordinators c ON c.id = r.author_id
      WHERE r.report_id = $1 ORDER BY r.created_at, r.id`,
    [reportId],
  );
  return r.rows;
}

// --- Audit trail ------------------------------------------------------------------------------------------

/** What the audit trail records. */
export type AuditAction =
  | 'login'
  | 'login_failed'
  | 'logout'
  | 'view'
  | 'transition'
  | 'assignment'
  | 'note'
  | 'reply'
  /** The submitter sent a follow-up message (web page, sealed); no actor, the case's reference only. */
  | 'followup'
  | 'export'
  | 'grant'
  | 'account_create'
  | 'account_disable'
  | 'account_enable'
  | 'totp_enable'
  | 'totp_reset'
  | 'passphrase_change'
  | 'signing_key'
  | 'role_change'
  | 'invite_create'
  | 'invite_accept'
  | 'invite_refused'
  | 'invite_revoke'
  | 'retention_purge';

export interface AuditEntry {
  actorId: string | null;
  action: AuditAction;
  reportReference?: string | null;
  targetId?: string | null;
  /** An id from config or an enum (a status, a reason, an export kind), never content. */
  detail?: string | null;
}

/**
 * Appends one entry to the audit trail. The database chains it (migration 0010): the INSERT waits for the
 * chain's head row and holds it until the caller's transaction ends, so inside a transaction call this last,
 * after every other write, to keep that wait short. Works alone or inside a transaction, on both backends.
 */
export async function appendAudit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query(
    'INSERT INTO audit_log (actor_id, action, report_reference, target_id, detail) VALUES ($1, $2, $3, $4, $5)',
    [e.actorId, e.action, e.reportReference ?? null, e.targetId ?? null, e.detail ?? null],
  );
}

export interface AuditRow {
  id: string;
  at: Date;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  report_reference: string | null;
  target_id: string | null;
  detail: string | null;
}

/** Audit entries, newest first, keyset-paginated on id. */
export async function listAudit(
  db: Queryable,
  f: {
    beforeId?: string;
    limit: number;
    action?: string;
    reportReference?: string;
    actorId?: string;
    from?: Date;
    to?: Date;
  },
): Promise<AuditRow[]> {
  const r = await db.query<AuditRow>(
    `SELECT a.id::text AS id, a.at, a.actor_id, c.display_name AS actor_name, a.action, a.report_reference,
            a.target_id, a.detail
       FROM audit_log a LEFT JOIN coordinators c ON c.id = a.actor_id
      WHERE ($1::bigint IS NULL OR a.id < $1::bigint)
        AND ($2::text IS NULL OR a.action = $2)
        AND ($3::text IS NULL OR a.report_reference = $3)
        AND ($4::uuid IS NULL OR a.actor_id = $4)
        AND ($5::timestamptz IS NULL OR a.at >= $5)
        AND ($6::timestamptz IS NULL OR a.at < $6)
      ORDER BY a.id DESC LIMIT $7`,
    [
      f.beforeId ?? null,
      f.action ?? null,
      f.reportReference ?? null,
      f.actorId ?? null,
      f.from ?? null,
      f.to ?? null,
      f.limit,
    ],
  );
  return r.rows;
}
