/**
 * Retention: expired conversations, old deduplication entries and reports closed longer than the retention
 * period are deleted, by `intake purge` and by a scheduled job in the service.
 */
import type { Logger } from 'pino';
import type { AppConfig } from '../config/index.js';
import {
  type Database,
  purgeClosedReports,
  purgeExpiredConversations,
  purgeProcessedEvents,
} from '../store/index.js';

export interface PurgeResult {
  conversations: number;
  events: number;
  reports: number;
}

/** Optional hook to record deletions in the audit trail (the inbox part provides it). */
export type PurgeAudit = (db: Database, result: PurgeResult) => Promise<void>;

let auditHook: PurgeAudit | undefined;
/** Registers how purges are written to the audit trail. */
export function setPurgeAudit(hook: PurgeAudit | undefined): void {
  auditHook = hook;
}

/** Runs one purge at `now`. */
export async function purge(db: Database, config: AppConfig, now = new Date()): Promise<PurgeResult> {
  const result: PurgeResult = {
    conversations: await purgeExpiredConversations(db, now),
    events: await purgeProcessedEvents(db, new Date(now.getTime() - config.retention.dedupHours * 3_600_000)),
    reports: (
      await purgeClosedReports(db, new Date(now.getTime() - config.retention.closedReportDays * 86_400_000))
    ).length,
  };
  if (auditHook && (result.conversations || result.events || result.reports)) await auditHook(db, result);
  return result;
}

/** Runs `purge` every `intervalMs` (default hourly) until stopped; failures are logged, never thrown. */
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
