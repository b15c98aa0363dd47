/** Readiness: a report is never sealed to nobody, so every inbox that routing can choose needs a coordinator. */
import type { AppConfig } from '../config/index.js';
import { activeMembersByInbox, type Database } from '../store/index.js';

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
