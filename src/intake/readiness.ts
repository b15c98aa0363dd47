/**
 * Readiness: a report is never sealed to nobody, so every inbox that routing can choose needs a coordinator
 * whose membership the service vouches for (its MAC verifies); a membership that fails the MAC receives
 * nothing, and is reported here too. And a report is never forgotten, so one still open past
 * `retention.unclosedWarningDays` is reported.
 */
import type { AppConfig } from '../config/index.js';
import { activeMemberships, countUnclosedReports, type Database } from '../store/index.js';
import { memberIsTrusted } from './integrity.js';
import type { Keyring } from './keyring.js';

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
 * Returns the problem ("inbox coordination has no coordinator key ...", "inbox coordination: 1 membership
 * fails the integrity check ..."), or undefined. In production the service is then not ready (503); in
 * development it is reported as a warning so a fresh start works.
 */
export async function inboxReadiness(
  db: Database,
  config: AppConfig,
  keyring: Keyring,
): Promise<string | undefined> {
  const trusted = new Map<string, number>();
  const untrusted = new Map<string, number>();
  for (const m of await activeMemberships(db)) {
    const counts = memberIsTrusted(keyring, m, m.inbox_id) ? trusted : untrusted;
    counts.set(m.inbox_id, (counts.get(m.inbox_id) ?? 0) + 1);
  }
  const problems: string[] = [];
  const routed = new Set(config.routing.rules.map((r) => r.inbox));
  const empty = [...routed].filter((inbox) => !trusted.get(inbox));
  if (empty.length > 0) {
    problems.push(
      `inbox ${empty.join(', ')} has no coordinator key (run \`intake coordinator add --inbox ${empty[0]}\`)`,
    );
  }
  for (const [inbox, n] of untrusted) {
    // Ids only: which coordinator is for the operator to find in the database, not for a public endpoint.
    problems.push(
      `inbox ${inbox}: ${n} membership${n > 1 ? 's fail' : ' fails'} the integrity check (added or changed outside the service) and receive${n > 1 ? '' : 's'} nothing`,
    );
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}
