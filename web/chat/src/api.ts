/** The public configuration and flows the page loads from `/api/v1/public/` (no cookie, never cached). */
import type { RoutingRule } from '../../../src/config/index.js';
import type { Flow, Lang } from '../../../src/engine/index.js';

export interface PublicConfig {
  languages: { default: Lang; available: Lang[] };
  defaultFlow: string;
  flows: { id: string; version: number; kind: string; aliases: string[]; languages: Lang[] }[];
  inboxes: string[];
  routing: { rules: RoutingRule[] };
  exitUrl: string;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { cache: 'no-store', credentials: 'omit' });
  if (!res.ok) throw Object.assign(new Error(`GET ${url}: ${res.status}`), { status: res.status });
  return (await res.json()) as T;
}

export function loadConfig(): Promise<PublicConfig> {
  return getJson<PublicConfig>('/api/v1/public/config');
}

/** The flow `?flow=` selects (an id or alias, like a chat's start link), else the default flow. */
export async function loadFlow(alias: string | null, config: PublicConfig): Promise<Flow> {
  if (alias) {
    try {
      return await getJson<Flow>(`/api/v1/public/flows/${encodeURIComponent(alias.slice(0, 64))}`);
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
    }
  }
  return getJson<Flow>(`/api/v1/public/flows/${encodeURIComponent(config.defaultFlow)}`);
}
