/**
 * Readiness: a report is never sealed to nobody, so every inbox that routing can choose needs a coordinator
 * whose membership the service vouches for (its MAC verifies); a membership that fails the MAC receives
 * nothing, and is reported here too.
 */
import type { AppConfig } from '../config/index.js';
import { activeMemberships, type Database } from '../store/index.js';
import { memberIsTrusted } from './integrity.js';
import type { Keyring } from './keyring.js';

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
