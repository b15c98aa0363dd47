// End to end in real headless Chromium (Debian's chromium, driven by playwright-core): a report is submitted
// through the intake service, the coordinator logs in with the passphrase in the browser, sees the report in
// the queue, opens it (decrypted in the browser), moves it to evaluation, writes a note and replies; the
// submitter reads the reply with /suivi. Every byte the server received is recorded and must contain neither
// the answers' text, nor the passphrase, nor the note, nor the reply in clear. Screenshots go to test-output/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import { ROOT_DIR } from '../../src/paths.js';
import { type Database, openPostgres } from '../../src/store/index.js';
import { buildTestApp, type TestApp, testConfig } from '../helper.js';
import { createPgDatabase, PG_ENABLED, type TestDatabase } from '../support/databases.js';
import { followUp, SECRET_TEXT, submitYouthReport } from './support.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = join(ROOT_DIR, 'test-output');
const UI = join(ROOT_DIR, 'dist-inbox');
const PASSPHRASE = 'brume matinale sur le canal 93';
const NOTE = 'Note interne : contact pris avec la CPE, rappel jeudi';
const REPLY = 'Bonjour, ici l’équipe. Tu peux appeler le 119 à tout moment ; nous te rappelons demain.';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the UI with Vite when dist-inbox is missing or older than its sources (UI or crypto). */
function ensureUiBuilt() {
  const index = join(UI, 'index.html');
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

describe('coordinator inbox in headless Chromium', () => {
  let t: TestApp;
  let db: Database | undefined;
  let pgdb: TestDatabase | undefined;
  let browser: Browser;
  let base: string;
  const received: string[] = [];

  beforeAll(async () => {
    ensureUiBuilt();
    mkdirSync(OUT, { recursive: true });
    if (PG_ENABLED) {
      pgdb = await createPgDatabase();
      db = openPostgres({ connectionString: pgdb.url });
    }
    t = await buildTestApp({ config: testConfig(), ...(db ? { db } : {}) });
    await createCoordinator(
      t.db,
      t.keyring,
      { name: 'Bob Coord', login: 'bob', inbox: 'coordination', passphrase: PASSPHRASE },
      ['coordination'],
    );
    // Every byte of every request body, as it arrives, before Fastify parses it (a tee on the raw payload),
    // plus the URL of every request (query strings included).
    t.app.addHook('onRequest', async (request) => {
      received.push(`${request.method} ${request.url}`);
    });
    t.app.addHook('preParsing', async (_request, _reply, payload) => {
      const tee = new PassThrough();
      const chunks: Buffer[] = [];
      tee.on('data', (c: Buffer) => chunks.push(c));
      tee.on('end', () => received.push(Buffer.concat(chunks).toString('utf8')));
      payload.pipe(tee);
      return tee;
    });
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
    await db?.close();
    await pgdb?.drop();
  });

  it('triages, opens, evaluates, notes and replies without the server ever seeing plaintext', async () => {
    const { reference, receipt } = await submitYouthReport(t.app, { user: 'tg-4242', channel: 'cli' });
    const serverSideBefore = received.length;

    const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const origins = new Set<string>();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('response', async (r) => {
      if (r.status() >= 400)
        problems.push(
          `${r.status()} ${r.request().method()} ${new URL(r.url()).pathname} ${await r.text().catch(() => '')}`,
        );
    });
    page.on('request', (r) => {
      origins.add(new URL(r.url()).origin);
    });

    const res = await page.goto(`${base}/inbox/`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
    await page.getByLabel('Identifiant').fill('bob');
    await page.getByLabel('Phrase de passe').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Se connecter' }).click();

    const row = page.locator(`tr[data-reference="${reference}"]`);
    await row.waitFor({ timeout: 30_000 }).catch(async (err) => {
      await page.screenshot({ path: join(OUT, 'inbox-failure.png'), fullPage: true });
      throw new Error(
        `${(err as Error).message}\nbrowser errors: ${problems.join(' | ')}\npage: ${await page.locator('body').textContent()}`,
      );
    });
    await expect.poll(() => row.textContent()).toContain('Nouveau');
    await page.screenshot({ path: join(OUT, 'inbox-queue.png'), fullPage: true });

    await page.getByRole('button', { name: `Ouvrir ${reference}` }).click();
    const more = page.locator('dd[data-step="more"]');
    await more.waitFor({ timeout: 15_000 });
    expect(await more.textContent()).toBe(SECRET_TEXT);
    // Option ids are shown with the flow's labels.
    expect(await page.locator('dd[data-step="for_whom"]').textContent()).toBe('Pour moi');
    await page.screenshot({ path: join(OUT, 'inbox-case.png'), fullPage: true });

    await page.locator('select[name="to"]').selectOption('evaluation');
    await page.getByRole('button', { name: 'Valider' }).click();
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('En évaluation');

    await page.locator('#note').fill(NOTE);
    await page.getByRole('button', { name: 'Ajouter la note' }).click();
    await page.locator('.note-text', { hasText: NOTE }).waitFor({ timeout: 10_000 });
    // Signed in this browser, verified in this browser; the case lists who the report is sealed to.
    expect(await page.locator('.notes li').first().getAttribute('data-check')).toBe('verified');
    expect(await page.getByTestId('recipients').textContent()).toBe('Bob Coord (bob)');

    await page.locator('#reply').fill(REPLY);
    await page.getByRole('button', { name: 'Envoyer la réponse' }).click();
    await page.getByText('Réponse envoyée.').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(OUT, 'inbox-case-after.png'), fullPage: true });

    // The submitter reads the reply with the receipt, through the intake service.
    expect(await followUp(t.app, 'tg-4242', receipt)).toContain(REPLY);

    // A database writer alters the note's signature: the case shows the note as unverifiable.
    const signature = (await t.db.query<{ signature: string }>('SELECT signature FROM report_notes')).rows[0]!
      .signature;
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    await t.db.query('UPDATE report_notes SET signature = $1', [flipped]);
    await page.getByRole('button', { name: /Retour/ }).click();
    await page.getByRole('button', { name: `Ouvrir ${reference}` }).click();
    await page.locator('.notes li[data-check="unverified"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('.note-warning').textContent()).toContain('Signature non vérifiable');
    await page.screenshot({ path: join(OUT, 'inbox-case-unverified-note.png'), fullPage: true });

    const status = await t.db.query<{ status: string }>('SELECT status FROM reports WHERE reference = $1', [
      reference,
    ]);
    expect(status.rows[0]!.status).toBe('evaluation');

    // What the server received from the browser: no answer, no passphrase, no note, no reply in clear.
    const fromBrowser = received.slice(serverSideBefore).join('\n---\n');
    expect(fromBrowser).toContain('/api/v1/auth/login');
    expect(fromBrowser).toContain('/api/v1/reports/');
    for (const secret of [SECRET_TEXT, PASSPHRASE, NOTE, REPLY, 'Il a 22 ans']) {
      expect(fromBrowser, secret).not.toContain(secret);
      expect(fromBrowser, secret).not.toContain(encodeURIComponent(secret));
    }
    // Nor did it store them.
    for (const table of ['reports', 'report_notes', 'report_replies', 'audit_log', 'inbox_sessions']) {
      const dump = JSON.stringify((await t.db.query(`SELECT * FROM ${table}`)).rows);
      for (const secret of [SECRET_TEXT, NOTE, REPLY]) expect(dump, `${table}`).not.toContain(secret);
    }
    // No third-party request, no CSP violation, no script error.
    expect([...origins]).toEqual([base]);
    expect(problems).toEqual([]);
    // Nothing sensitive in web storage.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
    expect(stored).not.toContain(PASSPHRASE);
    expect(stored.length).toBeLessThan(60);
    await context.close();
  }, 180_000);
});
