/**
 * Readiness: a report is never sealed to nobody, so every inbox that routing can choose needs a coordinator;
 * and a report is never forgotten, so one still open past `retention.unclosedWarningDays` is reported.
 */
import type { AppConfig } from '../config/index.js';
import { activeMembersByInbox, countUnclosedReports, type Database } from '../store/index.js';

/** Default of `retention.unclosedWarningDays`. */
export const UNCLOSED_WARNING_DAYS = 90;

/**
 * Reports received more than `retention.unclosedWarningDays` ago and still not closed: a warning (the
 * service stays ready) with the count and the age only, or undefined when there is none.
 */
export async function unclosedReportsWarning(
  db: Database,
  config: AppConfig,
  now = new Date(),
): Promise<{ warning: string; count: number; days: number } | undefined> {
  const days = config.retention.unclosedWarningDays ?? UNCLOSED_WARNING_DAYS;
  const count = await countUnclosedReports(db, new Date(now.getTime() - days * 86_400_000));
  if (count === 0) return undefined;
  return {
    warning: `${count} report${count === 1 ? '' : 's'} received more than ${days} days ago still not closed`,
    count,
    days,
  };
}

/**
 * Returns the problem ("inbox coordination has no coordinator key ..."), or undefined. In production the
 * service is then not ready (503); in development it is reported as a warning so a fresh start works.
 */
export async function inboxReadiness(db: Database, config: AppConfig): Promise<string | undefined> {
  const counts = await activeMembersByInbox(db);
  const routed = new Set(config.routing.rules.map((r) => r.inbox));
  const empty = [...routed].filter((inbox) => !counts.get(inbox));
  if (empty.length === 0) return undefined;
  return `inbox ${empty.join(', ')} has no coordinator key (run \`intake coordinator add --inbox ${empty[0]}\`)`;
}
