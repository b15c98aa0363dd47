// The web flow end to end in headless Chromium at a phone's size: the youth flow is walked on /chat/ to a
// sealed report; every request the page makes is recorded and none carries the typed answer or the receipt;
// a coordinator opens the report; with the receipt the person reads a reply and answers it (sealed in the
// page: no request carries the answer or the code) and the coordinator's inbox shows the answer decrypted;
// nothing is left in the browser's storage; "Quitter" and Escape twice replace the page with the neutral
// site so that Back does not return to the conversation.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator, showReport, unlock } from '../../src/coordinators/index.js';
import {
  decodeBytes,
  encodeBytes,
  normalizeReceipt,
  receiptKeyPair,
  receiptLookupHash,
  receiptTagFromLookupHash,
} from '../../src/crypto/index.js';
import { ROOT_DIR } from '../../src/paths.js';
import { buildTestApp, type TestApp, testConfig } from '../helper.js';
import { replyToReference } from '../support/replies.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = join(ROOT_DIR, 'test-output');
const DIST = join(ROOT_DIR, 'dist-chat');
const PASSPHRASE = 'brume matinale sur le canal 93';
const EXIT = 'https://neutral.example/';
/** A unique marker typed into the free-text answer: it must never leave the browser in clear. */
const MARKER = 'Marqueur-7f3a9c : il garde mon telephone la nuit aux Lilas';
/** What the person answers to a reply: never in a request, opened only in the coordinator's browser. */
const ANSWER = 'Réponse-4c1e9b : je peux parler mardi au CDI';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the coordinators' inbox UI with Vite when dist-inbox is missing or older than its sources. */
function ensureInboxBuilt() {
  const index = join(ROOT_DIR, 'dist-inbox', 'index.html');
  const sources = Math.max(
    newestMtime(join(ROOT_DIR, 'web/inbox')),
    newestMtime(join(ROOT_DIR, 'src/crypto')),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(join(ROOT_DIR, 'node_modules/.bin/vite'), ['build', '--config', 'web/inbox/vite.config.ts'], {
    cwd: ROOT_DIR,
    stdio: 'pipe',
    timeout: 180_000,
  });
}

/** Builds the page with Vite when dist-chat is missing or older than its sources. */
function ensureChatBuilt() {
  const index = join(DIST, 'index.html');
  const sources = Math.max(
    ...['web/chat', 'src/crypto', 'src/engine'].map((d) => newestMtime(join(ROOT_DIR, d))),
    statSync(join(ROOT_DIR, 'src/intake/routing.ts')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(join(ROOT_DIR, 'node_modules/.bin/vite'), ['build', '--config', 'web/chat/vite.config.ts'], {
    cwd: ROOT_DIR,
    stdio: 'pipe',
    timeout: 180_000,
  });
}

async function seriousA11yProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Clicks the option `id` of the question waiting for an answer. */
async function press(page: Page, id: string) {
  await page
    .locator(`fieldset:not([disabled]) button[data-option="${id}"]`)
    .last()
    .click({ timeout: 30_000 });
}

describe('web flow (/chat/) in headless Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    ensureChatBuilt();
    ensureInboxBuilt();
    mkdirSync(OUT, { recursive: true });
    t = await buildTestApp({ config: testConfig({ web: { exitUrl: EXIT } }) });
    await createCoordinator(
      t.db,
      t.keyring,
      { name: 'Bob Coord', login: 'bob', inbox: 'coordination', passphrase: PASSPHRASE },
      ['coordination'],
    );
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://localhost:${(t.app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function phone() {
    const context = await browser.newContext({
      locale: 'fr-FR',
      viewport: { width: 360, height: 740 },
      isMobile: true,
      hasTouch: true,
    });
    // The neutral site, served locally: the test never leaves the machine.
    await context.route(`${EXIT}**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<title>Météo</title><p>Météo</p>' }),
    );
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    return { context, page, problems };
  }

  it('walks the youth flow to a sealed report the server cannot read, and leaves nothing behind', async () => {
    const { context, page, problems } = await phone();
    const sent: { method: string; url: string; body: string }[] = [];
    page.on('request', (r) => sent.push({ method: r.method(), url: r.url(), body: r.postData() ?? '' }));

    const res = await page.goto(`${base}/chat/?flow=jeune&lang=fr`);
    expect(res?.status()).toBe(200);
    const headers = res?.headers() ?? {};
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(await page.title()).toBe('Messages');
    await expect.poll(() => page.locator('button[data-option="safe"]').count(), { timeout: 60_000 }).toBe(1);
    expect(await page.getByRole('button', { name: 'Quitter' }).isVisible()).toBe(true);
    expect(await seriousA11yProblems(page)).toEqual([]);

    // The visible controls: help and the emergency card.
    await page.getByRole('button', { name: 'Urgence' }).click();
    await page.locator('.emergency').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('.emergency').first().textContent()).toContain('119');

    await press(page, 'safe');
    await press(page, 'me');
    await press(page, 'age_15_16');
    await press(page, 'exchange');
    await press(page, 'partner');
    await press(page, '$done');
    await page.locator('#answer').fill(MARKER);
    await page.getByRole('button', { name: 'Envoyer' }).click();
    await press(page, 'talk');
    await press(page, '$done');
    await press(page, 'receipt');
    await press(page, 'no');
    // The summary, with the typed answer (shown in the page, never sent in clear).
    await page.locator('.summary').last().waitFor({ timeout: 30_000 });
    expect(await page.locator('.summary').last().textContent()).toContain(MARKER);
    expect(await seriousA11yProblems(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'chat-summary.png'), fullPage: true });
    await press(page, '$confirm');

    const receiptEl = page.getByTestId('receipt');
    await receiptEl.waitFor({ timeout: 60_000 });
    const receipt = (await receiptEl.textContent()) ?? '';
    expect(normalizeReceipt(receipt)).toHaveLength(16);
    const reference = (await page.locator('.receipt strong').first().textContent()) ?? '';
    expect(reference).toMatch(/^R-[0-9A-Z]{6}$/);
    await page.screenshot({ path: join(OUT, 'chat-receipt.png'), fullPage: true });
    expect(await seriousA11yProblems(page)).toEqual([]);

    // Every request the page made: this origin only, and none carries the answer or the receipt.
    const origins = new Set(sent.map((s) => new URL(s.url).origin));
    expect([...origins]).toEqual([base]);
    const post = sent.filter((s) => s.method === 'POST');
    expect(post.map((s) => new URL(s.url).pathname)).toEqual(['/api/v1/public/reports']);
    const forms = [receipt, normalizeReceipt(receipt), receipt.toLowerCase()];
    for (const s of sent) {
      const everything = `${s.url}\n${s.body}`;
      expect(everything).not.toContain(MARKER);
      expect(everything).not.toContain('Lilas');
      for (const f of forms) expect(everything).not.toContain(f);
    }
    const body = JSON.parse(post[0]!.body);
    expect(Object.keys(body).sort()).toEqual(
      ['envelope', 'flow', 'id', 'inbox', 'kind', 'receipt', 'recipientsTag', 'reference', 'urgency'].sort(),
    );

    // Nothing in the browser's storage.
    const stored = await page.evaluate(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      idb: (await indexedDB.databases()).length,
    }));
    expect(stored).toEqual({ local: 0, session: 0, cookie: '', idb: 0 });
    expect(await context.cookies()).toEqual([]);

    // The coordinator opens it: the answers were sealed in the browser, to the inbox's coordinator.
    const me = await unlock(t.db, t.keyring, 'bob', PASSPHRASE);
    const report = await showReport(t.db, me, reference);
    expect(report.channel).toBe('web');
    expect(report.inbox).toBe('coordination');
    expect(report.kind).toBe('youth');
    expect(report.payload).toMatchObject({ reference, channel: 'web', kind: 'youth', lang: 'fr' });
    expect(JSON.stringify(report.payload)).toContain(MARKER);

    // The receipt works like a chat's: the stored tag is the server's keyed hash of the page's lookup hash,
    // and replies sealed to the stored public key open with the key pair the receipt derives.
    const row = (
      await t.db.query<{ receipt_tag: string; receipt_salt: string; receipt_public_key: string }>(
        'SELECT receipt_tag, receipt_salt, receipt_public_key FROM reports WHERE reference = $1',
        [reference],
      )
    ).rows[0]!;
    expect(row.receipt_tag).toBe(receiptTagFromLookupHash(t.keyring.current, receiptLookupHash(receipt)));
    expect(encodeBytes(receiptKeyPair(receipt, decodeBytes(row.receipt_salt)).publicKey)).toBe(
      row.receipt_public_key,
    );

    // Nothing readable in the database either.
    const dump = JSON.stringify((await t.db.query('SELECT * FROM reports')).rows);
    expect(dump).not.toContain('Lilas');
    expect(dump).not.toContain(normalizeReceipt(receipt));

    // Quitter: the page is replaced (same history length), and Back does not show the conversation.
    const length = await page.evaluate(() => history.length);
    await page.getByRole('button', { name: 'Quitter' }).click();
    await page.waitForURL(EXIT, { timeout: 30_000 });
    expect(await page.evaluate(() => history.length)).toBe(length);
    await page.goBack({ timeout: 30_000 }).catch(() => null);
    expect(page.url()).not.toContain('/chat/');
    expect(await page.content()).not.toContain('Lilas');
    expect(problems).toEqual([]);
    await context.close();
  }, 300_000);

  it('"J\'ai déjà un code" reads a reply and answers it, sealed in the page; the inbox shows the answer; no request carries the code or the answer', async () => {
    // File a report on the page (the short way through the youth flow), keeping the receipt.
    const first = await phone();
    const sent: { url: string; body: string }[] = [];
    first.page.on('request', (r) => sent.push({ url: r.url(), body: r.postData() ?? '' }));
    await first.page.goto(`${base}/chat/?flow=jeune&lang=fr`);
    // The control is on the first screen.
    await first.page.locator('button[data-option="safe"]').waitFor({ timeout: 60_000 });
    expect(await first.page.getByRole('button', { name: "J'ai déjà un code" }).isVisible()).toBe(true);
    for (const id of ['safe', 'me', 'age_15_16', 'exchange', 'partner', '$done']) await press(first.page, id);
    await first.page.locator('#answer').fill('Rien de plus.');
    await first.page.getByRole('button', { name: 'Envoyer' }).click();
    for (const id of ['talk', '$done', 'receipt', 'no', '$confirm']) await press(first.page, id);
    const receiptEl = first.page.getByTestId('receipt');
    await receiptEl.waitFor({ timeout: 60_000 });
    const receipt = (await receiptEl.textContent()) ?? '';
    const reference = (await first.page.locator('.receipt strong').first().textContent()) ?? '';
    await first.context.close();

    // A coordinator replies (sealed to the receipt key, signed).
    const REPLY = 'Bonjour, ici Bob de la coordination : on peut en parler quand tu veux.';
    const row = await replyToReference(t.db, reference, {
      text: REPLY,
      login: 'bob',
      passphrase: PASSPHRASE,
    });

    // Later, on another visit: "J'ai déjà un code", typed in lower case with spaces.
    const { context, page, problems } = await phone();
    page.on('request', (r) => sent.push({ url: r.url(), body: r.postData() ?? '' }));
    await page.goto(`${base}/chat/?lang=fr`);
    await page.getByRole('button', { name: "J'ai déjà un code" }).click();
    const typed = receipt.toLowerCase().replace(/-/g, ' ');
    await page.getByLabel(/Ton code secret/).fill(typed);
    await page.getByRole('button', { name: 'Lire les réponses' }).click();
    await page.getByTestId('replies').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('replies').textContent()).toContain(REPLY);
    expect(await page.getByLabel(/Ton code secret/).inputValue()).toBe('');
    expect(await seriousA11yProblems(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'chat-followup.png'), fullPage: true });

    // The person answers: sealed in the page to the inbox's coordinators, sent with the code's hash only.
    await page.getByLabel('Ton message').fill(ANSWER);
    await page.getByRole('button', { name: 'Envoyer le message' }).click();
    await expect
      .poll(() => page.getByTestId('answer-outcome').textContent(), { timeout: 30_000 })
      .toContain('Message envoyé');
    expect(await page.getByLabel('Ton message').inputValue()).toBe('');
    expect(await seriousA11yProblems(page)).toEqual([]);
    await page.screenshot({ path: join(OUT, 'chat-answer.png'), fullPage: true });

    // A wrong code: the same "no reply yet" as a code without replies.
    await page.getByLabel(/Ton code secret/).fill('ABCD-EFGH-JKMN-PQRS');
    await page.getByRole('button', { name: 'Lire les réponses' }).click();
    await expect
      .poll(() => page.getByTestId('code-outcome').textContent(), { timeout: 30_000 })
      .toContain('Pas encore de réponse');

    // No request ever carried the code, in any form; the lookup sent its hash only.
    const forms = [receipt, normalizeReceipt(receipt), receipt.toLowerCase(), typed, typed.toUpperCase()];
    for (const s of sent) {
      const everything = `${s.url}\n${s.body}`;
      for (const f of forms) expect(everything).not.toContain(f);
      expect(everything).not.toContain(REPLY);
      expect(everything).not.toContain(ANSWER);
      expect(everything).not.toContain('mardi');
    }
    const lookups = sent.filter((s) => new URL(s.url).pathname === '/api/v1/public/replies');
    expect(lookups).toHaveLength(2);
    expect(JSON.parse(lookups[0]!.body)).toEqual({ lookupHash: receiptLookupHash(receipt) });
    const answers = sent.filter((s) => new URL(s.url).pathname === '/api/v1/public/followups');
    expect(answers).toHaveLength(1);
    const answerBody = JSON.parse(answers[0]!.body);
    expect(Object.keys(answerBody).sort()).toEqual(
      ['envelope', 'lookupHash', 'messageId', 'recipientsTag', 'reportId'].sort(),
    );
    expect(answerBody.lookupHash).toBe(receiptLookupHash(receipt));
    expect(answerBody.reportId).toBe(row.id);
    expect(problems).toEqual([]);
    await context.close();

    // Stored sealed: no clear text in any column.
    const dump = JSON.stringify((await t.db.query('SELECT * FROM report_followups')).rows);
    expect(dump).not.toContain('mardi');

    // The coordinator's inbox: the case is flagged, and the answer opens in the coordinator's browser.
    const desk = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
    const inbox = await desk.newPage();
    const fromInbox: string[] = [];
    inbox.on('request', (r) => fromInbox.push(`${r.url()}\n${r.postData() ?? ''}`));
    const inboxProblems: string[] = [];
    inbox.on('pageerror', (e) => inboxProblems.push(e.message));
    await inbox.goto(`${base}/inbox/`);
    await inbox.getByLabel('Identifiant').fill('bob');
    await inbox.getByLabel('Phrase de passe').fill(PASSPHRASE);
    await inbox.getByRole('button', { name: 'Se connecter' }).click();
    const flagged = inbox.getByTestId('new-messages');
    await flagged.waitFor({ timeout: 30_000 });
    expect(await flagged.textContent()).toContain(reference);
    expect(await inbox.locator(`tr[data-reference="${reference}"]`).textContent()).toContain(
      'Nouveau message',
    );
    await flagged.getByRole('button', { name: `Ouvrir ${reference}` }).click();
    const message = inbox.getByTestId('followup');
    await message.waitFor({ timeout: 30_000 });
    expect(await message.textContent()).toContain(ANSWER);
    // In order with the coordinator's reply (shown as sent, sealed to the person's code).
    const exchange = (await inbox.getByTestId('exchange').textContent()) ?? '';
    expect(exchange.indexOf('Réponse de Bob Coord')).toBeGreaterThanOrEqual(0);
    expect(exchange.indexOf('Réponse de Bob Coord')).toBeLessThan(exchange.indexOf(ANSWER));
    await inbox.screenshot({ path: join(OUT, 'inbox-followup.png'), fullPage: true });
    for (const r of fromInbox) expect(r).not.toContain('mardi');
    expect(inboxProblems).toEqual([]);
    await desk.close();
  }, 300_000);

  it('Escape pressed twice leaves for the neutral site, and Back does not return to the page', async () => {
    const { context, page } = await phone();
    await page.goto(`${base}/healthz`);
    await page.goto(`${base}/chat/?flow=pro&lang=en`);
    await page.locator('fieldset:not([disabled]) button[data-option]').first().waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    expect(await page.getByRole('button', { name: 'Leave' }).isVisible()).toBe(true);
    const length = await page.evaluate(() => history.length);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.waitForURL(EXIT, { timeout: 30_000 });
    expect(await page.evaluate(() => history.length)).toBe(length);
    await page.goBack({ timeout: 30_000 });
    expect(new URL(page.url()).pathname).toBe('/healthz');
    await context.close();
  }, 180_000);
});
