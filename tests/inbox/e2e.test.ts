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
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import { totpCode } from '../../src/inbox/index.js';
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
const ADMIN_PASSPHRASE = 'ada garde les cles du local 12';
const INVITEE_PASSPHRASE = 'carole choisit sa phrase dans son navigateur';

/** axe-core on the current page: the serious and critical violations, named with their targets. */
async function seriousA11yProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

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

  it('an admin invites, the invitee joins in the browser and reads after a grant; admin screens work; axe passes', async () => {
    // An admin of the inbox, and a colleague about to leave (added here: the first test counts recipients).
    await createCoordinator(
      t.db,
      t.keyring,
      { name: 'Ada Admin', login: 'ada', inbox: 'coordination', passphrase: ADMIN_PASSPHRASE, role: 'admin' },
      ['coordination'],
    );
    await createCoordinator(
      t.db,
      t.keyring,
      {
        name: 'Dan Départ',
        login: 'dan',
        inbox: 'coordination',
        passphrase: 'dan quitte le service bientot',
      },
      ['coordination'],
    );
    const { reference } = await submitYouthReport(t.app, { user: 'tg-5151', channel: 'cli' });
    const serverSideBefore = received.length;
    const problems: string[] = [];
    const watch = (page: Page, who: string) => {
      page.on('pageerror', (e) => problems.push(`${who}: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`${who}: ${m.text()}`);
      });
    };
    const fail = async (page: Page, name: string, err: unknown) => {
      await page.screenshot({ path: join(OUT, `${name}-failure.png`), fullPage: true });
      throw new Error(
        `${(err as Error).message}\nbrowser errors: ${problems.join(' | ')}\npage: ${await page.locator('body').textContent()}`,
      );
    };

    // The admin signs in and opens the administration screen.
    const adminContext = await browser.newContext({
      locale: 'fr-FR',
      viewport: { width: 1280, height: 900 },
    });
    const admin = await adminContext.newPage();
    watch(admin, 'admin');
    await admin.goto(`${base}/inbox/`);
    await admin.getByLabel('Identifiant').fill('ada');
    await admin.getByLabel('Phrase de passe').fill(ADMIN_PASSPHRASE);
    await admin.getByRole('button', { name: 'Se connecter' }).click();
    const adminNav = admin.getByRole('button', { name: 'Administration', exact: true });
    await adminNav.waitFor({ timeout: 30_000 }).catch((e) => fail(admin, 'admin-login', e));
    await adminNav.click();
    await admin.locator('tr[data-login="dan"]').waitFor({ timeout: 15_000 });

    // Invite Carole: the link is shown once.
    await admin.getByLabel('Nom affiché').fill('Carole Nouvelle');
    await admin.locator('#invite-login').fill('carole');
    await admin.getByRole('button', { name: 'Créer l’invitation' }).click();
    const urlField = admin.locator('#invite-url');
    await urlField.waitFor({ timeout: 15_000 }).catch((e) => fail(admin, 'admin-invite', e));
    const link = await urlField.inputValue();
    expect(link).toMatch(new RegExp(`^${base}/inbox/#/invite/[A-Za-z0-9_-]{43}$`));
    await admin.locator('tr[data-invitation="carole"]').waitFor({ timeout: 10_000 });
    expect(await seriousA11yProblems(admin)).toEqual([]);
    await admin.screenshot({ path: join(OUT, 'inbox-admin.png'), fullPage: true });

    // The invitee, on a phone-sized screen: every request body the page sends is recorded.
    const inviteeContext = await browser.newContext({
      locale: 'fr-FR',
      viewport: { width: 390, height: 844 },
    });
    const invitee = await inviteeContext.newPage();
    watch(invitee, 'invitee');
    const sent: string[] = [];
    invitee.on('request', (r) => sent.push(`${r.method()} ${r.url()}\n${r.postData() ?? ''}`));
    await invitee.goto(link);
    await invitee
      .getByRole('heading', { name: 'Rejoindre la boîte de coordination' })
      .waitFor({ timeout: 15_000 })
      .catch((e) => fail(invitee, 'invite-page', e));
    await invitee.getByText('Invitation pour Carole Nouvelle').waitFor({ timeout: 15_000 });
    expect(await seriousA11yProblems(invitee)).toEqual([]);
    await invitee.screenshot({ path: join(OUT, 'inbox-invite.png'), fullPage: true });
    await invitee.getByLabel('Nouvelle phrase de passe').fill(INVITEE_PASSPHRASE);
    await invitee.getByLabel('Confirmez la phrase de passe').fill(INVITEE_PASSPHRASE);
    await invitee.getByRole('button', { name: 'Créer mon compte' }).click();
    await invitee
      .getByText('Compte créé.')
      .waitFor({ timeout: 60_000 })
      .catch((e) => fail(invitee, 'invite-accept', e));
    expect(new URL(invitee.url()).hash).toBe('');
    // The same link a second time: refused.
    const again = await invitee.request.post(`${base}/api/v1/invitations/lookup`, {
      data: { token: link.split('/').pop() },
    });
    expect(again.status()).toBe(410);

    // Carole signs in (login prefilled): the earlier report is listed but not shared with her yet.
    expect(await invitee.getByLabel('Identifiant').inputValue()).toBe('carole');
    await invitee.getByLabel('Phrase de passe').fill(INVITEE_PASSPHRASE);
    await invitee.getByRole('button', { name: 'Se connecter' }).click();
    const row = invitee.locator(`tr[data-reference="${reference}"]`);
    await row.waitFor({ timeout: 30_000 }).catch((e) => fail(invitee, 'invitee-queue', e));

    // The admin grants Carole the inbox's reports, re-sealed in the admin's browser.
    await admin.getByRole('button', { name: 'File', exact: true }).click();
    await adminNav.click();
    await admin.locator('tr[data-login="carole"]').waitFor({ timeout: 15_000 });
    await admin.locator('#grant-account').selectOption({ label: 'Carole Nouvelle (carole)' });
    await admin.getByRole('button', { name: 'Donner accès' }).click();
    await expect
      .poll(() => admin.getByTestId('admin-status').textContent(), { timeout: 30_000 })
      .toMatch(/^Accès donné : [1-9]\d* signalement\(s\) partagé\(s\)\.$/);

    // Carole now opens the report, decrypted in her browser.
    await invitee.getByRole('button', { name: `Ouvrir ${reference}` }).click();
    const more = invitee.locator('dd[data-step="more"]');
    await more.waitFor({ timeout: 20_000 }).catch((e) => fail(invitee, 'invitee-case', e));
    expect(await more.textContent()).toBe(SECRET_TEXT);
    await invitee.screenshot({ path: join(OUT, 'inbox-invitee-case.png'), fullPage: true });

    // The admin disables Dan, then reads the audit trail's head hash.
    await admin.getByRole('button', { name: 'Désactiver dan' }).click();
    await expect
      .poll(() => admin.locator('tr[data-login="dan"] [data-testid="account-state"]').textContent(), {
        timeout: 15_000,
      })
      .toBe('Désactivé');
    expect(
      (await t.db.query("SELECT disabled_at FROM coordinators WHERE login = 'dan'")).rows[0]!.disabled_at,
    ).not.toBeNull();
    // Her own second factor: the QR code is drawn here as SVG from the otpauth:// URI, the secret shown too.
    await admin.getByRole('button', { name: 'Mon compte', exact: true }).click();
    await admin.getByRole('button', { name: 'Activer la double authentification' }).click();
    const qr = admin.getByRole('img', {
      name: 'QR code à scanner avec votre application d’authentification',
    });
    await qr.waitFor({ timeout: 15_000 }).catch((e) => fail(admin, 'admin-totp', e));
    expect(await admin.locator('svg.qr path').getAttribute('d')).toMatch(/^M\d+ \d+h1v1h-1z/);
    expect(await admin.locator('canvas').count()).toBe(0);
    const secret = (await admin.locator('code.secret').textContent()) ?? '';
    expect(await seriousA11yProblems(admin)).toEqual([]);
    await admin.screenshot({ path: join(OUT, 'inbox-totp.png'), fullPage: true });
    await admin.getByLabel('Code de l’application d’authentification').fill(totpCode(secret));
    await admin.getByRole('button', { name: 'Valider' }).click();
    await admin.getByText('Double authentification activée.').waitFor({ timeout: 15_000 });

    await admin.getByRole('button', { name: 'Journal', exact: true }).click();
    const head = admin.getByTestId('audit-head');
    await head.waitFor({ timeout: 15_000 });
    const shown = (await head.textContent()) ?? '';
    expect(shown).toMatch(/^[0-9a-f]{64}$/);
    expect((await t.db.query('SELECT seq FROM audit_log WHERE hash = $1', [shown])).rows).toHaveLength(1);
    expect(await seriousA11yProblems(admin)).toEqual([]);
    await admin.screenshot({ path: join(OUT, 'inbox-audit-head.png'), fullPage: true });

    // The passphrase Carole chose never left her browser: not in any request body her page sent, nor in
    // anything the server received.
    const fromInvitee = sent.join('\n---\n');
    expect(fromInvitee).toContain('/api/v1/invitations/accept');
    expect(fromInvitee).toContain('"publicKey"');
    const fromBrowsers = received.slice(serverSideBefore).join('\n---\n');
    for (const secret of [INVITEE_PASSPHRASE, encodeURIComponent(INVITEE_PASSPHRASE), SECRET_TEXT]) {
      expect(fromInvitee, secret).not.toContain(secret);
      expect(fromBrowsers, secret).not.toContain(secret);
    }
    expect(problems).toEqual([]);
    await adminContext.close();
    await inviteeContext.close();
  }, 300_000);
});
