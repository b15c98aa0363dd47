/**
 * Contentless new-case notices to linked coordinators in Teams. A notice names only the case reference,
 * the inbox and the urgency: never an answer. Immediate-danger cases go out at once; the others are grouped
 * per inbox over a configurable interval (0 = at once).
 *
 * Pending notices are stored (`teams_notices`: queue metadata that `reports` already holds in clear), so a
 * batch survives a restart: each instance sends what is due on a timer, sweeps at start for what a stopped
 * instance left, and polls now and then for what another instance stored. Rows are claimed with a lease in
 * one statement (`FOR UPDATE SKIP LOCKED`), so with several instances each batch is sent by one of them. A
 * batch that reached nobody is kept for a later attempt (bounded, then dropped with a log line); one that
 * reached at least one linked coordinator is done. An instance that dies while sending leaves its claim to
 * expire, and another sends the batch again: a notice may come twice then, never a case lost (the inbox
 * queue is the source of truth either way).
 */
import type { FastifyBaseLogger as Logger } from 'fastify';
import { openContact } from '../../crypto/index.js';
import type { Urgency } from '../../engine/index.js';
import type { Keyring } from '../../intake/index.js';
import type { Metrics } from '../../metrics.js';
import {
  claimTeamsNotices,
  type Database,
  deleteTeamsNotices,
  enqueueTeamsNotice,
  inboxHasTeamsLink,
  nextTeamsNoticeWait,
  retryTeamsNotices,
  type TeamsNoticeRow,
  teamsLinksForInbox,
} from '../../store/index.js';
import type { ConversationReference } from './adapter.js';
import { withBotbuilderLogs } from './shim.js';
import { TEAMS_TEXTS } from './texts.js';

/** What a notice may carry: queue metadata only. */
export interface CaseNotice {
  reference: string;
  inbox: string;
  urgency: Urgency;
  kind: 'professional' | 'youth';
  /** A new case (default), or a new message the person sent on a case with their code. */
  what?: 'case' | 'message';
}

/** Sends one text to a stored conversation reference (the adapter's continueConversationAsync). */
export type SendProactive = (reference: Partial<ConversationReference>, text: string) => Promise<void>;

export interface NotifierDeps {
  db: Database;
  keyring: Keyring;
  logger: Logger;
  metrics: Metrics;
  send: SendProactive;
  /** Inbox id -> display name. */
  inboxName: (inboxId: string) => string;
  batchSeconds: number;
  /**
   * How often an instance looks for notices another instance stored (and left), and the first retry delay
   * (doubled at each attempt). Default: the batch interval, between 1 s and 60 s (60 s when it is 0).
   */
  pollMs?: number;
  /** Attempts before a notice that reached nobody is dropped (default 5). */
  maxAttempts?: number;
  /** How long a claim holds notices while they are being sent (default 120 s). */
  leaseSeconds?: number;
}

/** At most this many notices are claimed at once (the rest by the next round of the same sweep). */
const CLAIM_LIMIT = 200;
const MAX_ROUNDS = 20;
/** Retry delays are capped at this. */
const MAX_RETRY_MS = 15 * 60_000;

type Delivery = 'sent' | 'nobody' | 'failed';

export class TeamsNotifier {
  private readonly pollMs: number;
  private readonly maxAttempts: number;
  private readonly leaseSeconds: number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private sweeping: Promise<void> | undefined;
  private sweepAgain = false;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: NotifierDeps) {
    // Batches of 0 s (each notice at once) leave only retries and leftovers to look for: once a minute.
    const batchMs = deps.batchSeconds > 0 ? deps.batchSeconds * 1000 : 60_000;
    this.pollMs = deps.pollMs ?? Math.min(60_000, Math.max(1000, batchMs));
    this.maxAttempts = deps.maxAttempts ?? 5;
    this.leaseSeconds = deps.leaseSeconds ?? 120;
  }

  /** Sends what is overdue (left by an instance that stopped) and schedules the rest. Never throws. */
  start(): void {
    if (this.closed) return;
    this.kick();
  }

  /** Stores the notice of a new case, and sends it at once when it is immediate. Never throws. */
  notify(notice: CaseNotice): void {
    if (this.closed) return;
    this.track(this.enqueue(notice));
  }

  /**
   * Stops the timer and waits for the sweep and stores in progress. Pending notices stay stored: this or
   * another instance sends them when due.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle();
  }

  /** Resolves when nothing is being stored or sent (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.sweeping) {
      await Promise.all([...this.inFlight, this.sweeping]);
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    p.finally(() => this.inFlight.delete(p));
  }

  private async enqueue(notice: CaseNotice): Promise<void> {
    const { db, logger, metrics } = this.deps;
    try {
      // Nobody linked to this inbox: nothing to store (a coordinator who links later sees the inbox queue).
      if (!(await inboxHasTeamsLink(db, notice.inbox))) return;
      // A person who writes back may be in danger now: their message is announced at once, like an
      // immediate case; other new cases wait for the inbox's batch.
      const at = notice.urgency === 'immediate' || notice.what === 'message' ? 0 : this.deps.batchSeconds;
      const waitMs = await enqueueTeamsNotice(db, notice, at);
      if (waitMs <= 0) this.kick();
      else this.schedule(waitMs);
    } catch (err) {
      // The report is committed and listed in the inbox; only this nudge is lost.
      metrics.errors.inc({ kind: 'teams_notice' });
      logger.warn({ err, inbox: notice.inbox }, 'teams notice not stored');
    }
  }

  /** Runs a sweep now, or right after the one in progress. */
  private kick(): void {
    if (this.closed) return;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    const run = (async () => {
      do {
        this.sweepAgain = false;
        await this.sweep();
      } while (this.sweepAgain && !this.closed);
    })();
    this.sweeping = run;
    run.finally(() => {
      if (this.sweeping === run) this.sweeping = undefined;
    });
  }

  /** Wakes up in `ms` (or earlier if already planned), never later than the poll interval. */
  private schedule(ms: number): void {
    if (this.closed) return;
    const wait = Math.max(0, Math.min(ms, this.pollMs));
    const at = Date.now() + wait;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.kick();
    }, wait);
    this.timer.unref();
  }

  /** Claims and sends every due notice, then plans the next wake-up. Never throws. */
  private async sweep(): Promise<void> {
    const { db, logger, metrics } = this.deps;
    let next = this.pollMs;
    try {
      for (let round = 0; round < MAX_ROUNDS && !this.closed; round++) {
        const rows = await claimTeamsNotices(db, this.leaseSeconds, CLAIM_LIMIT);
        if (rows.length === 0) break;
        await this.sendClaimed(rows);
      }
      const wait = await nextTeamsNoticeWait(db);
      // Not sooner than 100 ms: a row another instance is claiming right now must not make this one spin.
      if (wait !== undefined) next = Math.max(100, wait);
    } catch (err) {
      metrics.errors.inc({ kind: 'teams_notice' });
      logger.warn({ err }, 'teams notices: pending notices could not be read; will retry');
    }
    this.schedule(next);
  }

  /** Sends claimed notices: each immediate one alone, the others grouped per inbox. */
  private async sendClaimed(rows: TeamsNoticeRow[]): Promise<void> {
    const groups: TeamsNoticeRow[][] = [];
    const byInbox = new Map<string, TeamsNoticeRow[]>();
    for (const row of rows) {
      if (row.urgency === 'immediate') {
        groups.push([row]);
        continue;
      }
      const list = byInbox.get(row.inbox_id);
      if (list) list.push(row);
      else {
        const created = [row];
        byInbox.set(row.inbox_id, created);
        groups.push(created);
      }
    }
    await Promise.all(groups.map((group) => this.settle(group)));
  }

  /** Sends one group, then deletes it, or keeps it for another attempt, or gives up. */
  private async settle(group: TeamsNoticeRow[]): Promise<void> {
    const { db, logger, metrics } = this.deps;
    const inbox = group[0]!.inbox_id;
    const result = await this.deliver(inbox, group);
    try {
      if (result !== 'failed') {
        await deleteTeamsNotices(
          db,
          group.map((r) => r.id),
        );
        if (result === 'nobody') logger.info({ inbox, count: group.length }, 'teams notices: nobody linked');
        return;
      }
      const attempts = Math.max(...group.map((r) => r.attempts));
      if (attempts >= this.maxAttempts) {
        await deleteTeamsNotices(
          db,
          group.map((r) => r.id),
        );
        metrics.errors.inc({ kind: 'teams_notice_dropped' });
        logger.warn(
          { inbox, count: group.length, attempts },
          'teams notices dropped after repeated failures',
        );
        return;
      }
      const delayMs = Math.min(MAX_RETRY_MS, this.pollMs * 2 ** (attempts - 1));
      await retryTeamsNotices(
        db,
        group.map((r) => r.id),
        delayMs / 1000,
      );
    } catch (err) {
      // The claim expires and the notices are tried again (perhaps sent twice): never lost here.
      metrics.errors.inc({ kind: 'teams_notice' });
      logger.warn({ err, inbox }, 'teams notices: outcome not recorded; will retry after the claim');
    }
  }

  private async deliver(inbox: string, notices: TeamsNoticeRow[]): Promise<Delivery> {
    const { db, keyring, logger, metrics, send } = this.deps;
    const t = TEAMS_TEXTS.fr;
    const name = this.deps.inboxName(inbox);
    const cases = notices.filter((n) => n.what !== 'message');
    const messages = notices.filter((n) => n.what === 'message');
    const text = [
      ...(cases.length === 1 ? [t.noticeOne(cases[0]!.reference, name, cases[0]!.urgency)] : []),
      ...(cases.length > 1 ? [t.noticeMany(name, cases)] : []),
      ...(messages.length > 0
        ? [t.noticeMessages(name, [...new Set(messages.map((m) => m.reference))])]
        : []),
    ].join('\n');
    let links: Awaited<ReturnType<typeof teamsLinksForInbox>>;
    try {
      links = await teamsLinksForInbox(db, inbox);
    } catch (err) {
      metrics.errors.inc({ kind: 'teams_notice' });
      logger.warn({ err, inbox }, 'teams notices not sent: links could not be read');
      return 'failed';
    }
    if (links.length === 0) return 'nobody';
    const sent = await Promise.all(
      links.map(async (link) => {
        try {
          const reference = JSON.parse(
            openContact(keyring.all, link.reference_sealed),
          ) as ConversationReference;
          await withBotbuilderLogs(logger, () => send(reference, text));
          return true;
        } catch (err) {
          metrics.errors.inc({ kind: 'teams_notice' });
          logger.warn({ err, inbox }, 'teams notice failed');
          return false;
        }
      }),
    );
    const reached = sent.filter(Boolean).length;
    if (reached === 0) return 'failed';
    logger.info(
      { inbox, count: notices.length, recipients: reached, failed: links.length - reached },
      'teams notice sent',
    );
    return 'sent';
  }
}
