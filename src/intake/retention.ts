/**
 * Retention: expired conversations, old deduplication entries, stale Teams notices and reports closed longer
 * than the retention period are deleted, by `intake purge` and by a scheduled job in the service.
 */
import type { Logger } from 'pino';
import type { AppConfig } from '../config/index.js';
import {
  appendAudit,
  type Database,
  purgeClosedReports,
  purgeExpiredConversations,
  purgeFollowUpDiscards,
  purgeLoginFailures,
  purgePendingReplies,
  purgeProcessedEvents,
  purgeTeamsNotices,
  purgeTrail,
} from '../store/index.js';
import { unclosedReportsWarning } from './readiness.js';

/** How long after a user's last message its ids are kept for /effacer (Telegram's limit for deletion). */
export const MESSAGE_TRAIL_HOURS = 48;
/**
 * A Teams new-case notice still stored this long after it was due is dropped: no instance sent it (the
 * channel was turned off, or the service was stopped), and a nudge that late is worthless (the case is in
 * the inbox queue).
 */
export const TEAMS_NOTICE_STALE_HOURS = 24;

export interface PurgeResult {
  conversations: number;
  events: number;
  reports: number;
}

/**
 * Runs one purge at `now`, in one transaction. Every deletion is counted in the audit trail: one entry per
 * deleted report (its reference), one entry with the counts of conversations and deduplication entries.
 */
export async function purge(db: Database, config: AppConfig, now = new Date()): Promise<PurgeResult> {
  return db.transaction(async (tx) => {
    const conversations = await purgeExpiredConversations(tx, now);
    // Message ids for /effacer: the platform no longer deletes messages 48 h after they were sent.
    await purgeTrail(tx, new Date(now.getTime() - MESSAGE_TRAIL_HOURS * 3_600_000));
    await purgeLoginFailures(tx, now);
    await purgeTeamsNotices(tx, new Date(now.getTime() - TEAMS_NOTICE_STALE_HOURS * 3_600_000));
    await purgePendingReplies(tx, new Date(now.getTime() - config.retention.dedupHours * 3_600_000));
    const events = await purgeProcessedEvents(
      tx,
      new Date(now.getTime() - config.retention.dedupHours * 3_600_000),
    );
    const closedBefore = new Date(now.getTime() - config.retention.closedReportDays * 86_400_000);
    const references = await purgeClosedReports(tx, closedBefore);
    // Ids of follow-ups sent with an unknown code: kept as long as a closed report's, then forgotten.
    await purgeFollowUpDiscards(tx, closedBefore);
    for (const reference of references) {
      await appendAudit(tx, {
        actorId: null,
        action: 'retention_purge',
        reportReference: reference,
        detail: 'report',
      });
    }
    if (conversations || events) {
      await appendAudit(tx, {
        actorId: null,
        action: 'retention_purge',
        detail: `conversations=${conversations} events=${events}`,
      });
    }
    return { conversations, events, reports: references.length };
  });
}

/**
 * Logs one warning (count and age, no reference, no content) when reports are still open past
 * `retention.unclosedWarningDays`; returns the count. Run by the scheduled purge.
 */
export async function warnUnclosedReports(
  db: Database,
  config: AppConfig,
  logger: Logger,
  now = new Date(),
): Promise<number> {
  const w = await unclosedReportsWarning(db, config, now);
  if (w) logger.warn({ unclosedReports: w.count, days: w.days }, 'reports still open past the warning age');
  return w?.count ?? 0;
}

/**
 * Runs `purge` every `intervalMs` (default hourly) until stopped, then the unclosed-reports warning;
 * failures are logged, never thrown.
 */
export function schedulePurge(
  db: Database,
  config: AppConfig,
  logger: Logger,
  intervalMs = 3_600_000,
): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const r = await purge(db, config);
      if (r.conversations || r.events || r.reports) logger.info({ purged: r }, 'retention purge');
      await warnUnclosedReports(db, config, logger);
    } catch (err) {
      logger.warn({ err }, 'retention purge failed; will retry');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  const first = setTimeout(tick, 5_000);
  first.unref();
  return () => {
    clearInterval(timer);
    clearTimeout(first);
  };
}
