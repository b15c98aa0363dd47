/**
 * The page as a Teams dialog (opened by the bot's `task/fetch` answer with `?in=teams`): initialises
 * `@microsoft/teams-js` (bundled, loaded only here, as a separate file of this origin) so Teams shows the
 * page, and closes the dialog with `dialog.url.submit()` when the person leaves or is done. Nothing of the
 * conversation is passed to Teams: the submit carries no result, so the bot's `task/submit` sees nothing.
 *
 * teams-js first tries to fetch Microsoft's list of valid origins from a CDN; the page's CSP
 * (`connect-src 'self'`) refuses it and teams-js uses the list it ships with.
 */
import type { MiniApp } from './telegram.js';

/** What detection reads of the page's window (a parameter, for tests). */
export interface DialogWindow {
  location: { search: string };
}

/**
 * Whether the page was opened as a Teams dialog, as its address says (the bot's `task/fetch` answer). Teams
 * on the web frames the page; Teams on a phone shows it in a webview without a frame, which teams-js
 * reaches through the webview's native interface. Anywhere else teams-js finds no host and the page
 * behaves as in a browser.
 */
export function openedByTeams(win: DialogWindow): boolean {
  return new URLSearchParams(win.location.search).get('in') === 'teams';
}

/** How long the page waits for Teams to answer `app.initialize()` before behaving as a browser. */
const INIT_TIMEOUT_MS = 5000;

/**
 * The dialog controls when the page runs inside Teams, else `null`. Never throws and never blocks the
 * page: if teams-js cannot reach Teams, the page works as in a browser ("Quitter" still leaves).
 */
export function teamsDialog(win: DialogWindow = window as unknown as DialogWindow): MiniApp | null {
  if (!openedByTeams(win)) return null;
  const sdk = import('@microsoft/teams-js')
    .then(async (teams) => {
      await Promise.race([
        teams.app.initialize(),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), INIT_TIMEOUT_MS)),
      ]);
      return teams;
    })
    .catch(() => null);
  return {
    ready: () => {
      void sdk.then((teams) => teams?.app.notifySuccess().catch(() => undefined));
    },
    close: () => {
      void sdk.then((teams) => {
        try {
          teams?.dialog.url.submit();
        } catch {
          // Not in a dialog after all: "Quitter" has already replaced the page.
        }
      });
    },
  };
}
