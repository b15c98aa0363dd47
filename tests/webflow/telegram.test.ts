// The web flow's Mini App helper (web/chat/src/telegram.ts): detects a launch by Telegram, calls the bridge's
// web_app_ready / web_app_close, drops the launch parameters from the address, and never throws.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAT_CSP, CHAT_DIR } from '../../src/webflow/index.js';
import {
  launchedByTelegram,
  type MiniAppEvent,
  type MiniAppWindow,
  telegramMiniApp,
} from '../../web/chat/src/telegram.js';

function fakeWindow(hash: string, extra: Partial<MiniAppWindow> = {}) {
  const replaced: string[] = [];
  const win: MiniAppWindow = {
    location: { hash, pathname: '/chat/', search: '?flow=youth&lang=fr' },
    history: { replaceState: (_d, _u, url) => replaced.push(String(url)) },
    ...extra,
  };
  return { win, replaced };
}

const LAUNCH =
  '#tgWebAppData=user%3D%257B%2522id%2522%253A1%257D%26hash%3Dabc&tgWebAppVersion=8.0&tgWebAppPlatform=ios';

describe('web flow as a Telegram Mini App', () => {
  it('is a browser page without launch parameters or a Telegram webview', () => {
    const events: MiniAppEvent[] = [];
    const { win, replaced } = fakeWindow('');
    expect(launchedByTelegram(win)).toBe(false);
    expect(telegramMiniApp(win, (e) => events.push(e))).toBeNull();
    expect(launchedByTelegram(fakeWindow('#section').win)).toBe(false);
    expect(events).toEqual([]);
    expect(replaced).toEqual([]);
  });

  it('calls web_app_ready and web_app_close when launched by Telegram, and drops the launch parameters', () => {
    const events: MiniAppEvent[] = [];
    const { win, replaced } = fakeWindow(LAUNCH);
    const app = telegramMiniApp(win, (e) => events.push(e));
    expect(app).not.toBeNull();
    expect(replaced).toEqual(['/chat/?flow=youth&lang=fr']);
    app?.ready();
    app?.close();
    expect(events).toEqual(['web_app_ready', 'web_app_close']);
  });

  it('detects the Telegram webview even once the fragment is gone (a reload)', () => {
    const { win, replaced } = fakeWindow('', { TelegramWebviewProxy: { postEvent: () => undefined } });
    expect(launchedByTelegram(win)).toBe(true);
    expect(telegramMiniApp(win, () => undefined)).not.toBeNull();
    expect(replaced).toEqual([]);
  });

  it('never throws when the bridge cannot reach Telegram', () => {
    const { win } = fakeWindow(LAUNCH);
    // The real bridge, outside any Telegram environment (no window here): it throws, the helper does not.
    const app = telegramMiniApp(win);
    expect(() => app?.ready()).not.toThrow();
    expect(() => app?.close()).not.toThrow();
  });
});

describe('the page loads no script from another origin', () => {
  it('keeps script-src to its own origin, and the built page has only bundled scripts', () => {
    expect(CHAT_CSP).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(CHAT_CSP).not.toMatch(/https?:/);
    const index = join(CHAT_DIR, 'index.html');
    expect(existsSync(index), 'the page is built (npm run build:chat)').toBe(true);
    const html = readFileSync(index, 'utf8');
    const sources = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) expect(src).toMatch(/^\/chat\//);
    expect(html).not.toContain('telegram.org');
    // Each integrity matches the file as served (a mismatch makes the browser refuse the script).
    const tagged = [...html.matchAll(/(?:src|href)="\/chat\/([^"]+)" integrity="([^"]+)"/g)];
    expect(tagged.length).toBe(2);
    for (const [, file, sri] of tagged) {
      const digest = createHash('sha384')
        .update(readFileSync(join(CHAT_DIR, file!)))
        .digest('base64');
      expect(sri, file).toBe(`sha384-${digest}`);
    }
  });
});
