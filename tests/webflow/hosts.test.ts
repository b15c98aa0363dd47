// The web flow inside the apps that open it, in headless Chromium: a fake Teams web client (served by the
// browser itself at https://teams.microsoft.com, so the real frame-ancestors rule applies) frames
// /chat/?in=teams, answers teams-js's handshake like Teams does, and records what the dialog asks of it;
// a professional walks the whole flow to a sealed report that the coordinator opens. Every request the
// page makes is inspected for the typed answers; the database and the logs are scanned for them (canary).
// Then the framing rules: only the app that opened the page may frame it, and nobody frames a plain link.
import type { AddressInfo } from 'node:net';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Frame } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator, showReport, unlock } from '../../src/coordinators/index.js';
import { type Harness, startHarness } from '../channels/telegram/harness.js';
import { type TestApp, testConfig } from '../helper.js';
import { dumpDatabase, findMarkers } from '../support/canary.js';
import { replyToReference } from '../support/replies.js';
import { type Action, professionalWalk } from '../support/walks.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSPHRASE = 'le pont de Bondy sous la pluie';
const TEAMS = 'https://teams.microsoft.com';
const TELEGRAM_WEB = 'https://web.telegram.org';
const ELSEWHERE = 'https://elsewhere.example';

/**
 * A host page that frames `src` and, like Teams, answers teams-js: `initialize` gets the dialog's frame
 * context ("task") and a runtime that supports dialogs; every function the page calls is recorded.
 */
function hostPage(src: string): string {
  return `<!doctype html><title>host</title>
<iframe id="app" title="app" src="${src}" style="width:400px;height:760px;border:0"></iframe>
<script>
window.calls = [];
addEventListener('message', (e) => {
  const m = e.data;
  if (!m || typeof m !== 'object' || typeof m.func !== 'string') return;
  window.calls.push(m.func);
  const args = m.func === 'initialize'
    ? ['task', 'web', JSON.stringify({ apiVersion: 4, supports: { dialog: { card: {}, url: {} } } }), '2.0.0']
    : [];
  e.source.postMessage({ id: m.id, uuidAsString: m.uuidAsString, args, timestamp: Date.now() }, e.origin);
});
</script>`;
}

async function pressIn(frame: Frame, id: string) {
  await frame
    .locator(`fieldset:not([disabled]) button[data-option="${id}"]`)
    .last()
    .click({ timeout: 30_000 });
}

async function walk(frame: Frame, actions: Action[]) {
  for (const a of actions) {
    if ('say' in a) {
      const before = await frame.locator('.bubble.me').count();
      const input = frame.locator('#answer');
      await input.waitFor({ timeout: 30_000 });
      // A date step is a date picker on the page: "hier" becomes yesterday's date.
      const isDate = (await input.getAttribute('type')) === 'date';
      await input.fill(isDate ? new Date(Date.now() - 86_400_000).toISOString().slice(0, 10) : a.say);
      await frame.locator('form.composer button[type="submit"]').click({ timeout: 30_000 });
      await expect.poll(() => frame.locator('.bubble.me').count(), { timeout: 30_000 }).toBe(before + 1);
    } else if ('press' in a) {
      await pressIn(frame, a.press);
    } else {
      for (const id of a.tick) await pressIn(frame, id);
      await pressIn(frame, '$done');
    }
  }
}

describe('web flow inside Teams and Telegram (headless Chromium)', () => {
  let h: Harness;
  let t: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    // The app with its Telegram channel (a fake Bot API): a code from the page must work with /suivi too.
    h = await startHarness({ config: testConfig({ web: { exitUrl: 'https://neutral.example/' } }) });
    t = h.t;
    await createCoordinator(
      t.db,
      t.keyring,
      { name: 'Carla Coord', login: 'carla', inbox: 'coordination', passphrase: PASSPHRASE },
      ['coordination'],
    );
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    // 127.0.0.1 is a secure context for Chromium: an https host page may frame it.
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        // The host pages stand for public sites and the service listens on 127.0.0.1: Chromium's Local
        // Network Access would refuse that frame, which never happens in production (both are public).
        '--disable-features=LocalNetworkAccessChecks',
      ],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** A phone-sized context where `origin`'s root page is the host page framing `src`. */
  async function hostedBy(origin: string, src: string) {
    const context: BrowserContext = await browser.newContext({
      locale: 'fr-FR',
      viewport: { width: 400, height: 800 },
      isMobile: true,
      hasTouch: true,
    });
    await context.route(`${origin}/**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: hostPage(src) }),
    );
    // Anything else outside this machine (teams-js's CDN list of origins, say) never leaves it.
    await context.route(
      (url) => url.origin !== origin && url.origin !== base,
      (route) => route.abort(),
    );
    const page = await context.newPage();
    const sent: { url: string; body: string }[] = [];
    page.on('request', (r) => sent.push({ url: r.url(), body: r.postData() ?? '' }));
    await page.goto(`${origin}/host`);
    await page.locator('#app').waitFor();
    // The framed document, once it is there (a refused frame shows Chromium's error page instead).
    const frame = async () => {
      const handle = await page.locator('#app').elementHandle();
      const f = await handle?.contentFrame();
      await f?.waitForLoadState('load').catch(() => undefined);
      return f ?? null;
    };
    return { context, page, sent, frame };
  }

  it('a professional fills the form in a Teams dialog: sealed in the frame, read by the coordinator, dialog closed', async () => {
    const stamp = Date.now().toString(36).toUpperCase();
    const markers = [1, 2, 3, 4, 5, 6, 7].map((i) => `Canari${i}x${stamp}`);
    const hosted = await hostedBy(TEAMS, `${base}/chat/?flow=professional&lang=fr&in=teams`);
    const { context, page, sent } = hosted;
    const frame = await hosted.frame();
    expect(frame).not.toBeNull();
    await frame!.locator('button[data-option="yes"]').first().waitFor({ timeout: 60_000 });
    // teams-js told Teams the page is there (initialize, then the success that hides Teams' loader).
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { calls: string[] }).calls))
      .toContain('initialize');
    // Professionals are addressed with "vous", on the page as in the flow.
    expect(await frame!.locator('label[for="answer"]').textContent()).toBe('Votre réponse');
    expect(await frame!.locator('header').textContent()).toContain('Vos réponses sont chiffrées');
    const a11y = await new AxeBuilder({ page }).include('#app').analyze();
    expect(
      a11y.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
    ).toEqual([]);

    await walk(
      frame!,
      professionalWalk((i) => markers[i - 1]!),
    );
    const receipt = frame!.getByTestId('receipt');
    await receipt.waitFor({ timeout: 60_000 });
    const code = (await receipt.textContent()) ?? '';
    const reference = (await frame!.locator('.receipt strong').first().textContent()) ?? '';
    expect(reference).toMatch(/^R-[0-9A-Z]{6}$/);

    // No request carries a typed answer or the code; the page talks to its own origin only.
    const fromPage = sent.filter((s) => s.url.startsWith(base));
    expect(fromPage.some((s) => s.url.endsWith('/api/v1/public/reports'))).toBe(true);
    for (const s of sent) {
      const everything = `${s.url}\n${s.body}`;
      for (const m of [...markers, code]) expect(everything).not.toContain(m);
    }
    expect(sent.filter((s) => !s.url.startsWith(base) && !s.url.startsWith(TEAMS)).length).toBe(0);

    // The coordinator opens it.
    const me = await unlock(t.db, t.keyring, 'carla', PASSPHRASE);
    const report = await showReport(t.db, me, reference);
    expect(report).toMatchObject({ channel: 'web', kind: 'professional', inbox: 'coordination' });
    for (const m of markers) expect(JSON.stringify(report.payload)).toContain(m);

    // Canary: no marker in any table (text, hex, base64) or log line.
    const rows = (await dumpDatabase(t.db)).map((r) => ({ where: `${r.table}.${r.column}`, text: r.text }));
    expect(findMarkers(rows, [...markers, code])).toEqual([]);
    expect(findMarkers([{ where: 'logs', text: t.logs.text }], [...markers, code])).toEqual([]);

    // A coordinator replies; the code reads it on the page ("J'ai déjà un code"), then in Telegram (/suivi).
    const REPLY = 'Bonjour, ici Carla de la coordination : pouvez-vous me rappeler ?';
    await replyToReference(t.db, reference, {
      text: REPLY,
      login: 'carla',
      passphrase: PASSPHRASE,
    });
    await frame!.getByRole('button', { name: "J'ai déjà un code" }).click();
    await frame!.getByRole('textbox', { name: /Votre code secret/ }).fill(code);
    await frame!.getByRole('button', { name: 'Lire les réponses' }).click();
    await frame!.getByTestId('replies').waitFor({ timeout: 60_000 });
    expect(await frame!.getByTestId('replies').textContent()).toContain(REPLY);
    for (const s of sent) expect(`${s.url}\n${s.body}`).not.toContain(code);
    const user = h.user();
    await user.say(`/suivi ${code}`);
    expect(
      user
        .botMessages()
        .map((m) => m.text)
        .join('\n'),
    ).toContain(REPLY);

    // "Fermer" closes the dialog through teams-js, with no result for the bot.
    await frame!.getByRole('button', { name: 'Fermer' }).click();
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { calls: string[] }).calls))
      .toContain('tasks.completeTask');
    await context.close();
  }, 300_000);

  it('"Quitter" in a Teams dialog empties the frame and closes the dialog', async () => {
    const hosted = await hostedBy(TEAMS, `${base}/chat/?flow=jeune&lang=fr&in=teams`);
    const frame = await hosted.frame();
    await frame!.locator('button[data-option="safe"]').first().waitFor({ timeout: 60_000 });
    const calls = () => hosted.page.evaluate(() => (window as unknown as { calls: string[] }).calls);
    await expect.poll(calls).toContain('initialize');
    await frame!.getByRole('button', { name: 'Quitter' }).click();
    await expect.poll(calls).toContain('tasks.completeTask');
    // Not the neutral site (most refuse to be framed), nothing of the conversation either.
    await expect.poll(() => frame!.url()).toBe('about:blank');
    expect(await frame!.content()).not.toContain('sécurité');
    await hosted.context.close();
  }, 120_000);

  it('only the app that opened the page may frame it', async () => {
    const cases: { origin: string; query: string; shown: boolean }[] = [
      { origin: TEAMS, query: 'flow=jeune&in=teams', shown: true },
      { origin: TELEGRAM_WEB, query: 'flow=jeune&in=telegram', shown: true },
      { origin: TEAMS, query: 'flow=jeune', shown: false },
      { origin: TELEGRAM_WEB, query: 'flow=jeune&in=teams', shown: false },
      { origin: TEAMS, query: 'flow=jeune&in=telegram', shown: false },
      { origin: ELSEWHERE, query: 'flow=jeune&in=teams', shown: false },
      { origin: ELSEWHERE, query: 'flow=jeune&in=telegram', shown: false },
    ];
    for (const c of cases) {
      const hosted = await hostedBy(c.origin, `${base}/chat/?${c.query}`);
      const { context } = hosted;
      const frame = await hosted.frame();
      // A refused frame is Chromium's error page at once; an allowed one shows the first question.
      const refused = !frame || frame.url().startsWith('chrome-error:');
      const shown = refused
        ? false
        : await frame
            .locator('button[data-option="safe"]')
            .first()
            .waitFor({ timeout: 60_000 })
            .then(() => true)
            .catch(() => false);
      expect({ ...c, shown }).toEqual(c);
      await context.close();
    }
  }, 300_000);
});
