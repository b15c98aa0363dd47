/**
 * The page as a Telegram Mini App: tells Telegram it is ready, and closes the Mini App when the person
 * leaves or is done. Only `postEvent` of `@telegram-apps/bridge` is used (bundled, like everything here: no
 * script from telegram.org). The launch parameters are detected here rather than with the bridge's
 * `isTMA()`/`retrieveLaunchParams()`, which copy them (the person's signed Telegram identity included)
 * into sessionStorage; the page stores nothing in the browser, and drops them from the address bar.
 */
import { postEvent as bridgePostEvent } from '@telegram-apps/bridge';

/** The two bridge methods the page calls. */
export type MiniAppEvent = 'web_app_ready' | 'web_app_close';

export interface MiniApp {
  /** `web_app_ready`: the page is shown (Telegram hides its loader). */
  ready(): void;
  /** `web_app_close`: closes the Mini App, back to the chat. */
  close(): void;
}

/** What detection reads of the page's window (a parameter, for tests). */
export interface MiniAppWindow {
  location: { hash: string; pathname: string; search: string };
  history?: { replaceState(data: unknown, unused: string, url?: string): void };
  TelegramWebviewProxy?: unknown;
}

/** Telegram opens a Mini App with its launch parameters in the fragment (`#tgWebAppData=…&…`). */
const LAUNCH_PARAMS = /(?:^#|[#&])tgWebApp(?:Data|Version|Platform)=/;

/** Whether the page was opened by Telegram as a Mini App. */
export function launchedByTelegram(win: MiniAppWindow): boolean {
  return LAUNCH_PARAMS.test(win.location.hash) || win.TelegramWebviewProxy !== undefined;
}

/**
 * The Mini App controls when the page runs inside Telegram, else `null` (a browser: nothing to call).
 * Never throws: a bridge failure leaves the page working as in a browser.
 */
export function telegramMiniApp(
  win: MiniAppWindow = window as unknown as MiniAppWindow,
  post: (event: MiniAppEvent) => void = (event) =>
    event === 'web_app_ready' ? bridgePostEvent('web_app_ready') : bridgePostEvent('web_app_close'),
): MiniApp | null {
  if (!launchedByTelegram(win)) return null;
  if (LAUNCH_PARAMS.test(win.location.hash)) {
    // The launch parameters carry the person's signed identity: they are not needed again, drop them.
    try {
      win.history?.replaceState(null, '', `${win.location.pathname}${win.location.search}`);
    } catch {
      // Not fatal: the fragment is never sent to a server.
    }
  }
  const call = (event: MiniAppEvent) => {
    try {
      post(event);
    } catch {
      // An unknown environment (the bridge found no way to reach Telegram): behave as a browser.
    }
  };
  return { ready: () => call('web_app_ready'), close: () => call('web_app_close') };
}
