/**
 * The address of the web flow when a chat opens it inside the app: a Telegram Mini App (`web_app` button)
 * or a Teams dialog (`task/fetch`). Shared by both channels so the two stay in step with what the page
 * reads (`flow`, `lang`, `in`) and with the framing rules of `/chat/` (index.ts).
 */
import type { Lang } from '../engine/index.js';

/** The app a page was opened from: decides which origins may frame it (see `chatCsp`). */
export type ChatHost = 'telegram' | 'teams';

export const CHAT_HOSTS: readonly ChatHost[] = ['telegram', 'teams'];

/**
 * `PUBLIC_URL` + `/chat/?flow=<id>&lang=<lang>&in=<host>`, or nothing when `PUBLIC_URL` is missing or not
 * https (Telegram opens Mini Apps and Teams opens dialogs over https only).
 */
export function chatPageUrl(
  publicUrl: string | undefined,
  flowId: string,
  lang: Lang,
  host: ChatHost,
): string | undefined {
  if (!publicUrl || !publicHost(publicUrl)) return undefined;
  const base = publicUrl.replace(/\/+$/, '');
  const query = new URLSearchParams({ flow: flowId, lang, in: host });
  return `${base}/chat/?${query.toString()}`;
}

/** The host name of an https `PUBLIC_URL` (the Teams manifest's `validDomains`), else undefined. */
export function publicHost(publicUrl: string | undefined): string | undefined {
  if (!publicUrl) return undefined;
  try {
    const parsed = new URL(publicUrl);
    return parsed.protocol === 'https:' ? parsed.host : undefined;
  } catch {
    return undefined;
  }
}
