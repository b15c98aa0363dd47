// The coordinator inbox API against the real app, real crypto and a real database (embedded, plus
// PostgreSQL when DATABASE_URL is set): authentication and CSRF, every route's authorization (enumerated
// from the OpenAPI document), the queue and its pagination, every permitted and forbidden transition,
// required fields, notes and replies (opened client-side only), the append-only audit trail, throttling.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import {
  coordinatorKeysMac,
  coordinatorSigningKeyPair,
  decodeBytes,
  decryptWithDataKey,
  deriveLoginKeys,
  encodeBytes,
  encryptWithDataKey,
  generateCoordinatorKeyPair,
  initCrypto,
  newPwhashSalt,
  noteAssociatedData,
  openDataKey,
  openDataKey as openKey,
  openReport,
  ReportDecryptError,
  resealDataKey,
  sealReply,
  signNote,
  signReply,
  unwrapPrivateKey,
  verifyNoteSignature,
  wrapPrivateKey,
} from '../../src/crypto/index.js';
import { loadWorkflow, SESSION_COOKIE, totpCode } from '../../src/inbox/index.js';
import { type Database, verifyAuditChain } from '../../src/store/index.js';
import { buildTestApp, type TestApp, testConfig, testKeyring } from '../helper.js';
import { backends } from '../support/databases.js';
import {
  call,
  followUp,
  login,
  loginKeyFor,
  SECRET_TEXT,
  type Session,
  submitYouthReport,
} from './support.js';

const PASS = {
  alice: 'alice correct horse battery',
  bob: 'bob staple paper clip river',
  carol: 'carol other inbox passphrase',
  dave: 'dave will be locked out soon',
};
const workflow = loadWorkflow();

function config() {
  return testConfig({
    inboxes: [
      { id: 'coordination', name: 'Coordination 93' },
      { id: 'autre', name: 'Autre boîte' },
    ],
  });
}

async function setStatus(db: Database, reference: string, status: string) {
  await db.query('UPDATE reports SET status = $2 WHERE reference = $1', [reference, status]);
}

for (const backend of backends()) {
  describe(`inbox API (${backend.name})`, () => {
    let t: TestApp;
    let cleanup: () => Promise<void>;
    const refs: string[] = [];
    const receipts: string[] = [];
    const ids: Record<string, string> = {};
    let alice: Session;
    let bob: Session;
    let carol: Session;

    beforeAll(async () => {
      await initCrypto();
      process.env.INBOX_LOGIN_PER_MINUTE = '1000';
      const opened = await backend.open();
      cleanup = opened.cleanup;
      t = await buildTestApp({ db: opened.db, config: config() });
      const known = ['coordination', 'autre'];
      ids.alice = await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Alice Admin', login: 'alice', inbox: 'coordination', passphrase: PASS.alice, role: 'admin' },
        known,
      );
      ids.bob = await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Bob Coord', login: 'bob', inbox: 'coordination', passphrase: PASS.bob },
        known,
      );
      ids.carol = await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Carol Autre', login: 'carol', inbox: 'autre', passphrase: PASS.carol },
        known,
      );
      ids.dave = await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Dave', login: 'dave', inbox: 'coordination', passphrase: PASS.dave },
        known,
      );
      const base = Date.now() - 10 * 60_000;
      for (let i = 0; i < 5; i++) {
        const r = await submitYouthReport(t.app, { user: `user-${i}`, now: base + i * 60_000 });
        refs.push(r.reference);
        receipts.push(r.receipt);
      }
      alice = await login(t.app, 'alice', PASS.alice);
      bob = await login(t.app, 'bob', PASS.bob);
      carol = await login(t.app, 'carol', PASS.carol);
    }, 120_000);

    afterAll(async () => {
      await t?.close();
      await cleanup?.();
    });

    describe('authentication', () => {
      it('answers the real salt for an account and a stable fake one for an unknown login', async () => {
        const salt = (login: string) =>
          t.app.inject({ method: 'POST', url: '/api/v1/auth/salt', payload: { login } });
        const real = await t.db.query<{ pwhash_salt: string }>(
          "SELECT pwhash_salt FROM coordinators WHERE login = 'bob'",
        );
        expect((await salt('bob')).json().salt).toBe(real.rows[0]!.pwhash_salt);
        const a = (await salt('nobody')).json().salt;
        expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect((await salt('nobody')).json().salt).toBe(a);
        expect((await salt('somebody-else')).json().salt).not.toBe(a);
        expect((await salt('')).statusCode).toBe(400);
      });

      it('refuses a wrong passphrase and an unknown login with the same answer', async () => {
        const wrong = await loginKeyFor(t.app, 'bob', 'not the right passphrase');
        const r1 = await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { login: 'bob', loginKey: wrong.loginKey },
        });
        const unknown = await loginKeyFor(t.app, 'nobody', 'whatever passphrase here');
        const r2 = await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { login: 'nobody', loginKey: unknown.loginKey },
        });
        expect(r1.statusCode).toBe(401);
        expect(r2.statusCode).toBe(401);
        expect(r1.json()).toEqual(r2.json());
        expect(r1.cookies).toHaveLength(0);
        const bad = await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { login: 'bob', loginKey: 'short' },
        });
        expect(bad.statusCode).toBe(400);
        // A successful login clears bob's failure count.
        await login(t.app, 'bob', PASS.bob);
      });

      it('sets a 256-bit httpOnly, Secure, SameSite=Strict session cookie and stores only its hash', async () => {
        const { loginKey } = await loginKeyFor(t.app, 'bob', PASS.bob);
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { login: 'bob', loginKey },
        });
        expect(res.statusCode).toBe(200);
        const c = res.cookies.find((x) => x.name === SESSION_COOKIE)!;
        expect(c.httpOnly).toBe(true);
        expect(c.secure).toBe(true);
        expect(c.sameSite).toBe('Strict');
        expect(c.path).toBe('/');
        expect(Buffer.from(c.value, 'base64url').length).toBeGreaterThanOrEqual(32);
        const body = res.json();
        expect(body.coordinator).toMatchObject({ login: 'bob', role: 'coordinator' });
        expect(body.inboxes).toEqual([{ id: 'coordination', name: 'Coordination 93' }]);
        // The browser unwraps the private key with its own wrap key.
        const { wrapKey } = deriveLoginKeys(
          PASS.bob,
          decodeBytes(
            (await t.db.query<{ s: string }>("SELECT pwhash_salt AS s FROM coordinators WHERE login='bob'"))
              .rows[0]!.s,
          ),
        );
        const kp = unwrapPrivateKey(wrapKey, body.coordinator.wrappedPrivateKey, body.coordinator.id);
        expect(encodeBytes(kp.publicKey)).toBe(body.coordinator.publicKey);
        const rows = await t.db.query<{ token_hash: string; csrf_hash: string }>(
          'SELECT token_hash, csrf_hash FROM inbox_sessions',
        );
        const dump = JSON.stringify(rows.rows);
        expect(dump).not.toContain(c.value);
        expect(dump).not.toContain(body.csrfToken);
        expect(JSON.stringify(body)).not.toContain(loginKey);
      });

      it('requires the CSRF token on every state-changing call, not on reads', async () => {
        const url = `/api/v1/reports/${refs[0]}/assign`;
        const noHeader = await t.app.inject({
          method: 'POST',
          url,
          cookies: { [SESSION_COOKIE]: bob.cookie },
          payload: { coordinatorId: null },
        });
        expect(noHeader.statusCode).toBe(403);
        expect(noHeader.json().error).toBe('csrf');
        const wrong = await t.app.inject({
          method: 'POST',
          url,
          cookies: { [SESSION_COOKIE]: bob.cookie },
          headers: { 'x-csrf-token': carol.csrf },
          payload: { coordinatorId: null },
        });
        expect(wrong.statusCode).toBe(403);
        const read = await t.app.inject({
          method: 'GET',
          url: '/api/v1/reports',
          cookies: { [SESSION_COOKIE]: bob.cookie },
        });
        expect(read.statusCode).toBe(200);
        expect((await call(t.app, bob, 'POST', url, { coordinatorId: null })).statusCode).toBe(200);
      });

      it('ends the session at logout and after the idle timeout', async () => {
        const s = await login(t.app, 'bob', PASS.bob);
        expect((await call(t.app, s, 'GET', '/api/v1/reports')).statusCode).toBe(200);
        expect((await call(t.app, s, 'POST', '/api/v1/auth/logout')).statusCode).toBe(200);
        expect((await call(t.app, s, 'GET', '/api/v1/reports')).statusCode).toBe(401);
        const idle = await login(t.app, 'bob', PASS.bob);
        await t.db.query("UPDATE inbox_sessions SET last_seen_at = now() - interval '31 minutes'");
        const res = await call(t.app, idle, 'GET', '/api/v1/reports');
        expect(res.statusCode).toBe(401);
        // The other sessions idled too: log them in again.
        alice = await login(t.app, 'alice', PASS.alice);
        bob = await login(t.app, 'bob', PASS.bob);
        carol = await login(t.app, 'carol', PASS.carol);
      });
    });

    describe('authorization on every route', () => {
      function routes(): { method: 'GET' | 'POST'; path: string }[] {
        const doc = (
          t.app as unknown as { swagger(): { paths: Record<string, Record<string, unknown>> } }
        ).swagger();
        const out: { method: 'GET' | 'POST'; path: string }[] = [];
        for (const [path, ops] of Object.entries(doc.paths)) {
          // The web flow's public API has no session by design (tests/webflow/api.test.ts).
          if (!path.startsWith('/api/v1/') || path.startsWith('/api/v1/public/')) continue;
          for (const m of Object.keys(ops)) out.push({ method: m.toUpperCase() as 'GET' | 'POST', path });
        }
        return out;
      }
      const concrete = (path: string) =>
        path
          .replace('{reference}', refs[4]!)
          .replace('{id}', path.includes('/inboxes/') ? 'coordination' : ids.dave!)
          .replace('{version}', '1')
          .replace('/flows/{id}', '/flows/youth');
      const sampleBody = (path: string): unknown => {
        if (path.endsWith('/transitions')) return { to: 'evaluation' };
        if (path.endsWith('/assign')) return { coordinatorId: null };
        if (path.endsWith('/notes'))
          return { id: randomUUID(), ciphertext: 'A'.repeat(80), signature: 'A'.repeat(86) };
        if (path.endsWith('/replies'))
          return { id: randomUUID(), sealed: 'A'.repeat(80), signature: 'A'.repeat(86) };
        if (path.endsWith('/signing-key')) return { signingPublicKey: 'A'.repeat(43) };
        if (path.endsWith('/exports'))
          return path.includes('/reports/') ? { kind: 'print' } : { kind: 'statistics_csv' };
        return {};
      };

      it('lists the inbox routes in the OpenAPI document', () => {
        const list = routes().map((r) => `${r.method} ${r.path}`);
        expect(list.length).toBeGreaterThanOrEqual(20);
        expect(list).toContain('GET /api/v1/reports/{reference}');
        expect(list).toContain('POST /api/v1/reports/{reference}/transitions');
        expect(list).toContain('GET /api/v1/audit');
      });

      // Public by design: salt and login, and the invitee's side of an invitation (the token is the credential).
      const PUBLIC = [
        '/api/v1/auth/salt',
        '/api/v1/auth/login',
        '/api/v1/invitations/lookup',
        '/api/v1/invitations/accept',
      ];

      it('answers 401 without a session on every route but salt, login and the invitation links', async () => {
        for (const r of routes()) {
          if (PUBLIC.includes(r.path)) continue;
          const res = await t.app.inject({
            method: r.method,
            url: concrete(r.path.replace('{id}', r.path.includes('/flows/') ? 'youth' : '{id}')),
            ...(r.method === 'POST' ? { payload: sampleBody(r.path) as object } : {}),
          });
          expect(res.statusCode, `${r.method} ${r.path}`).toBe(401);
        }
      });

      it('answers 404 to a coordinator of another inbox on every report route', async () => {
        let n = 0;
        for (const r of routes()) {
          if (!r.path.includes('{reference}')) continue;
          n++;
          const res = await call(
            t.app,
            carol,
            r.method,
            concrete(r.path),
            r.method === 'POST' ? sampleBody(r.path) : undefined,
          );
          expect(res.statusCode, `${r.method} ${r.path}`).toBe(404);
          expect(res.json().error).toBe('not_found');
        }
        expect(n).toBeGreaterThanOrEqual(7);
        // Nothing happened to the report.
        const row = await t.db.query<{ status: string; first_opened_at: Date | null }>(
          'SELECT status, first_opened_at FROM reports WHERE reference = $1',
          [refs[4]],
        );
        expect(row.rows[0]).toEqual({ status: 'nouveau', first_opened_at: null });
        const notFound = await call(t.app, bob, 'GET', '/api/v1/reports/R-ZZZZZZ');
        expect(notFound.statusCode).toBe(404);
        const hidden = await call(t.app, carol, 'GET', `/api/v1/reports/${refs[4]}`);
        expect(hidden.json().error).toBe(notFound.json().error);
        expect(hidden.json().message.replace(refs[4]!, 'R-?')).toBe(
          notFound.json().message.replace('R-ZZZZZZ', 'R-?'),
        );
      });

      it('answers 403 to a non-admin on every admin route', async () => {
        let n = 0;
        for (const r of routes()) {
          if (!r.path.startsWith('/api/v1/admin/') && r.path !== '/api/v1/audit') continue;
          n++;
          const res = await call(
            t.app,
            bob,
            r.method,
            concrete(r.path),
            r.method === 'POST' ? sampleBody(r.path) : undefined,
          );
          expect(res.statusCode, `${r.method} ${r.path}`).toBe(403);
        }
        expect(n).toBeGreaterThanOrEqual(7);
      });
    });

    describe('queue', () => {
      it('lists only the caller’s inboxes, newest first, with due-time flags', async () => {
        const res = await call(t.app, bob, 'GET', '/api/v1/reports');
        expect(res.statusCode).toBe(200);
        const items = res.json().items as {
          reference: string;
          due: { overdue: string | null };
          canOpen: boolean;
        }[];
        expect(items.map((i) => i.reference)).toEqual([...refs].reverse());
        expect(items.every((i) => i.canOpen && i.due.overdue === null)).toBe(true);
        expect(JSON.stringify(res.json())).not.toContain('ciphertext');
        const other = await call(t.app, carol, 'GET', '/api/v1/reports');
        expect(other.json().items).toEqual([]);
        const forbidden = await call(t.app, carol, 'GET', '/api/v1/reports?inbox=coordination');
        expect(forbidden.json().items).toEqual([]);
      });

      it('paginates with a keyset cursor in both orders without gaps or repeats', async () => {
        for (const sort of ['received_desc', 'received_asc']) {
          const seen: string[] = [];
          let cursor: string | null = null;
          let pages = 0;
          do {
            const res = await call(
              t.app,
              bob,
              'GET',
              `/api/v1/reports?limit=2&sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`,
            );
            expect(res.statusCode).toBe(200);
            seen.push(...res.json().items.map((i: { reference: string }) => i.reference));
            cursor = res.json().nextCursor;
            pages++;
          } while (cursor && pages < 10);
          expect(pages).toBe(3);
          expect(seen).toEqual(sort === 'received_asc' ? refs : [...refs].reverse());
        }
        expect((await call(t.app, bob, 'GET', '/api/v1/reports?cursor=bm90LWEtY3Vyc29y')).statusCode).toBe(
          400,
        );
        expect((await call(t.app, bob, 'GET', '/api/v1/reports?limit=1000')).statusCode).toBe(400);
        expect((await call(t.app, bob, 'GET', '/api/v1/reports?status=bogus')).statusCode).toBe(400);
      });

      it('filters by status, urgency, kind, channel, dates and assignee', async () => {
        await setStatus(t.db, refs[1]!, 'evaluation');
        const q = async (qs: string) =>
          (await call(t.app, bob, 'GET', `/api/v1/reports?${qs}`))
            .json()
            .items.map((i: { reference: string }) => i.reference);
        expect(await q('status=evaluation')).toEqual([refs[1]]);
        expect((await q('status=nouveau&status=evaluation')).length).toBe(5);
        expect(await q('urgency=immediate')).toEqual([]);
        expect((await q('kind=youth&channel=cli')).length).toBe(5);
        expect(await q('kind=professional')).toEqual([]);
        const from = new Date(Date.now() - 60 * 60_000).toISOString();
        expect((await q(`receivedFrom=${from}`)).length).toBe(5);
        expect(await q(`receivedTo=${from}`)).toEqual([]);
        expect(
          (await call(t.app, bob, 'POST', `/api/v1/reports/${refs[2]}/assign`, { coordinatorId: ids.bob }))
            .statusCode,
        ).toBe(200);
        expect(await q('assignedTo=me')).toEqual([refs[2]]);
        expect(await q(`assignedTo=${ids.bob}`)).toEqual([refs[2]]);
        expect((await q('assignedTo=none')).length).toBe(4);
        await setStatus(t.db, refs[1]!, 'nouveau');
      });

      it('flags immediate danger not opened within an hour and reports not evaluated within 72 hours', async () => {
        const old = await submitYouthReport(t.app, { user: 'old-user', now: Date.now() - 73 * 3_600_000 });
        const urgent = await submitYouthReport(t.app, {
          user: 'urgent-user',
          now: Date.now() - 2 * 3_600_000,
          unsafe: true,
        });
        const items = (await call(t.app, bob, 'GET', '/api/v1/reports?limit=100')).json().items as {
          reference: string;
          urgency: string;
          due: { overdue: string | null };
        }[];
        const find = (ref: string) => items.find((i) => i.reference === ref)!;
        expect(find(old.reference).due.overdue).toBe('not_evaluated');
        expect(find(urgent.reference).urgency).toBe('immediate');
        expect(find(urgent.reference).due.overdue).toBe('not_opened');
        await call(t.app, bob, 'GET', `/api/v1/reports/${urgent.reference}`);
        const after = (await call(t.app, bob, 'GET', '/api/v1/reports?urgency=immediate')).json().items;
        expect(after[0].due.overdue).toBe(null);
        await t.db.query('DELETE FROM reports WHERE reference = ANY($1)', [
          [old.reference, urgent.reference],
        ]);
      });
    });

    describe('case', () => {
      it('serves ciphertext and the caller’s own sealed key; the client opens it; the view is audited', async () => {
        const res = await call(t.app, bob, 'GET', `/api/v1/reports/${refs[0]}`);
        expect(res.statusCode).toBe(200);
        const c = res.json();
        expect(JSON.stringify(c)).not.toContain(SECRET_TEXT);
        expect(c).toMatchObject({ reference: refs[0], status: 'nouveau', envelopeVersion: 1 });
        expect(c.allowedTransitions.map((x: { to: string }) => x.to).sort()).toEqual([
          'doublon',
          'evaluation',
        ]);
        const kp = unwrapPrivateKey(
          bob.wrapKey,
          bob.body.coordinator.wrappedPrivateKey,
          bob.body.coordinator.id,
        );
        const payload = openReport(
          {
            v: c.envelopeVersion,
            reportId: c.id,
            nonce: c.nonce,
            ciphertext: c.ciphertext,
            sealedKey: c.sealedKey,
          },
          kp,
        ) as { answers: Record<string, unknown> };
        expect(payload.answers.more).toBe(SECRET_TEXT);
        // Alice's sealed key is a different one (each member has its own).
        const a = (await call(t.app, alice, 'GET', `/api/v1/reports/${refs[0]}`)).json();
        expect(a.sealedKey).not.toBe(c.sealedKey);
        const audit = await t.db.query<{ action: string; actor_id: string }>(
          'SELECT action, actor_id FROM audit_log WHERE report_reference = $1 ORDER BY id',
          [refs[0]],
        );
        expect(audit.rows).toContainEqual({ action: 'view', actor_id: ids.bob });
        const opened = await t.db.query<{ first_opened_at: Date | null }>(
          'SELECT first_opened_at FROM reports WHERE reference = $1',
          [refs[0]],
        );
        expect(opened.rows[0]!.first_opened_at).not.toBeNull();
      });

      it('permits exactly the transitions of config/workflow.yaml, with their required fields', async () => {
        const ref = refs[3]!;
        const other = refs[4]!;
        const fields = { reason: 'sans_suite', partner: 'amicale_du_nid', duplicateOf: other };
        for (const from of workflow.statuses) {
          for (const to of workflow.statuses) {
            if (from.id === to.id) continue;
            await setStatus(t.db, ref, from.id);
            const rule = workflow.transitions.find((x) => x.to === to.id && x.from.includes(from.id));
            const body: Record<string, string> = { to: to.id };
            for (const f of rule?.requires ?? []) body[f] = fields[f];
            const res = await call(t.app, bob, 'POST', `/api/v1/reports/${ref}/transitions`, body);
            const label = `${from.id} -> ${to.id}`;
            const row = await t.db.query<{ status: string }>(
              'SELECT status FROM reports WHERE reference = $1',
              [ref],
            );
            if (rule) {
              expect(res.statusCode, label).toBe(200);
              expect(row.rows[0]!.status, label).toBe(to.id);
            } else {
              expect(res.statusCode, label).toBe(409);
              expect(res.json().error, label).toBe('transition_not_permitted');
              expect(row.rows[0]!.status, label).toBe(from.id);
            }
          }
        }
        const history = await t.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM report_transitions t JOIN reports r ON r.id = t.report_id WHERE r.reference = $1',
          [ref],
        );
        const permitted = workflow.transitions.reduce((n, x) => n + x.from.length, 0);
        expect(history.rows[0]!.n).toBe(permitted);
      });

      it('refuses a transition with a missing, unexpected or invalid field and changes nothing', async () => {
        const ref = refs[3]!;
        const post = (body: object) => call(t.app, bob, 'POST', `/api/v1/reports/${ref}/transitions`, body);
        await setStatus(t.db, ref, 'evaluation');
        const cases: [object, number, string][] = [
          [{ to: 'clos' }, 400, 'field_required'],
          [{ to: 'clos', reason: 'not_a_reason' }, 400, 'bad_request'],
          [{ to: 'orientation' }, 400, 'field_required'],
          [{ to: 'orientation', partner: 'unknown_partner' }, 400, 'bad_request'],
          [{ to: 'doublon' }, 400, 'field_required'],
          [{ to: 'doublon', duplicateOf: ref }, 400, 'bad_duplicate'],
          [{ to: 'doublon', duplicateOf: 'R-ZZZZZZ' }, 400, 'bad_duplicate'],
          [{ to: 'transmis_crip', reason: 'sans_suite' }, 400, 'field_unexpected'],
          [{ to: 'nowhere' }, 400, 'bad_request'],
          [{ to: 'clos', reason: 'sans_suite', extra: 1 }, 400, 'bad_request'],
        ];
        for (const [body, status, error] of cases) {
          const res = await post(body);
          expect(res.statusCode, JSON.stringify(body)).toBe(status);
          expect(res.json().error, JSON.stringify(body)).toBe(error);
        }
        const row = await t.db.query<{ status: string }>('SELECT status FROM reports WHERE reference = $1', [
          ref,
        ]);
        expect(row.rows[0]!.status).toBe('evaluation');
        const closed = await post({ to: 'clos', reason: 'sans_suite' });
        expect(closed.statusCode).toBe(200);
        const after = await t.db.query<{ close_reason: string; closed_at: Date | null }>(
          'SELECT close_reason, closed_at FROM reports WHERE reference = $1',
          [ref],
        );
        expect(after.rows[0]!.close_reason).toBe('sans_suite');
        expect(after.rows[0]!.closed_at).not.toBeNull();
        const dup = await post({ to: 'doublon', duplicateOf: refs[4] });
        expect(dup.statusCode).toBe(409);
      });

      it('assigns only to active members of the report’s inbox', async () => {
        const url = `/api/v1/reports/${refs[0]}/assign`;
        expect((await call(t.app, bob, 'POST', url, { coordinatorId: ids.alice })).statusCode).toBe(200);
        expect((await call(t.app, bob, 'POST', url, { coordinatorId: ids.carol })).statusCode).toBe(400);
        expect((await call(t.app, bob, 'POST', url, { coordinatorId: randomUUID() })).statusCode).toBe(400);
        expect((await call(t.app, bob, 'POST', url, { coordinatorId: 'x' })).statusCode).toBe(400);
        expect((await call(t.app, bob, 'POST', url, { coordinatorId: null })).statusCode).toBe(200);
      });

      it('stores notes encrypted and signed in the client, readable and verifiable by every member', async () => {
        const c = (await call(t.app, bob, 'GET', `/api/v1/reports/${refs[0]}`)).json();
        const bobKp = unwrapPrivateKey(
          bob.wrapKey,
          bob.body.coordinator.wrappedPrivateKey,
          bob.body.coordinator.id,
        );
        const bobSigning = coordinatorSigningKeyPair(bobKp.privateKey);
        expect(bob.body.coordinator.signingPublicKey).toBe(encodeBytes(bobSigning.publicKey));
        const dataKey = openDataKey(c.sealedKey, bobKp);
        const note = 'Appelée la CPE du collège, rappel demain';
        const noteId = randomUUID();
        const ciphertext = encryptWithDataKey(dataKey, note, noteAssociatedData(c.id, noteId));
        const fields = { reportId: c.id, noteId, authorId: bob.body.coordinator.id, ciphertext };
        const signature = signNote(bobSigning.privateKey, fields);
        const url = `/api/v1/reports/${refs[0]}/notes`;
        // A signature that does not verify with the author's key is refused before anything is stored.
        const forged = signNote(
          coordinatorSigningKeyPair(generateCoordinatorKeyPair().privateKey).privateKey,
          fields,
        );
        expect(
          (await call(t.app, bob, 'POST', url, { id: noteId, ciphertext, signature: forged })).statusCode,
        ).toBe(400);
        const res = await call(t.app, bob, 'POST', url, { id: noteId, ciphertext, signature });
        expect(res.statusCode).toBe(201);
        expect((await call(t.app, bob, 'POST', url, { id: noteId, ciphertext, signature })).statusCode).toBe(
          409,
        );
        expect(
          (await call(t.app, bob, 'POST', url, { id: randomUUID(), ciphertext: 'not base64!', signature }))
            .statusCode,
        ).toBe(400);
        const list = (await call(t.app, alice, 'GET', url)).json().items;
        expect(list).toHaveLength(1);
        expect(list[0].authorName).toBe('Bob Coord');
        expect(list[0].authorSigningKey).toBe(encodeBytes(bobSigning.publicKey));
        expect(
          verifyNoteSignature(list[0].authorSigningKey, list[0].signature, {
            reportId: c.id,
            noteId: list[0].id,
            authorId: list[0].authorId,
            ciphertext: list[0].ciphertext,
          }),
        ).toBe(true);
        const a = (await call(t.app, alice, 'GET', `/api/v1/reports/${refs[0]}`)).json();
        const aliceKp = unwrapPrivateKey(
          alice.wrapKey,
          alice.body.coordinator.wrappedPrivateKey,
          alice.body.coordinator.id,
        );
        const aliceKey = openKey(a.sealedKey, aliceKp);
        expect(decryptWithDataKey(aliceKey, list[0].ciphertext, noteAssociatedData(a.id, list[0].id))).toBe(
          note,
        );
        const stored = await t.db.query('SELECT * FROM report_notes');
        expect(JSON.stringify(stored.rows)).not.toContain(note);

        // A database writer copies the note (ciphertext and signature) to another note id: it opens for no
        // one and its signature does not verify.
        const moved = randomUUID();
        await t.db.query(
          `INSERT INTO report_notes (id, report_id, author_id, ciphertext, signature)
           SELECT $2, report_id, author_id, ciphertext, signature FROM report_notes WHERE id = $1`,
          [noteId, moved],
        );
        const copy = (await call(t.app, alice, 'GET', url))
          .json()
          .items.find((n: { id: string }) => n.id === moved);
        expect(() => decryptWithDataKey(aliceKey, copy.ciphertext, noteAssociatedData(a.id, moved))).toThrow(
          ReportDecryptError,
        );
        expect(
          verifyNoteSignature(copy.authorSigningKey, copy.signature, {
            reportId: a.id,
            noteId: moved,
            authorId: copy.authorId,
            ciphertext: copy.ciphertext,
          }),
        ).toBe(false);
        await t.db.query('DELETE FROM report_notes WHERE id = $1', [moved]);
      });

      it('stores a reply sealed to the receipt and signed, which the submitter reads with /suivi', async () => {
        const c = (await call(t.app, bob, 'GET', `/api/v1/reports/${refs[0]}`)).json();
        const bobKp = unwrapPrivateKey(
          bob.wrapKey,
          bob.body.coordinator.wrappedPrivateKey,
          bob.body.coordinator.id,
        );
        const signing = coordinatorSigningKeyPair(bobKp.privateKey);
        const text = 'Bonjour, nous avons bien lu ton message. Appelle-nous au numéro habituel.';
        const id = randomUUID();
        const sealed = sealReply(c.receiptPublicKey, text);
        const signature = signReply(signing.privateKey, {
          reportId: c.id,
          replyId: id,
          authorId: bob.body.coordinator.id,
          sealed,
        });
        const url = `/api/v1/reports/${refs[0]}/replies`;
        // Signed for another reply id: refused.
        expect(
          (await call(t.app, bob, 'POST', url, { id: randomUUID(), sealed, signature })).statusCode,
        ).toBe(400);
        const res = await call(t.app, bob, 'POST', url, { id, sealed, signature });
        expect(res.statusCode).toBe(201);
        const seen = await followUp(t.app, 'user-0', receipts[0]!);
        expect(seen).toContain(text);
        const detail = (await call(t.app, bob, 'GET', `/api/v1/reports/${refs[0]}`)).json();
        expect(detail.replies).toHaveLength(1);
        expect(detail.replies[0].authorName).toBe('Bob Coord');
      });

      it('lists the coordinators a report is sealed to', async () => {
        const detail = (await call(t.app, bob, 'GET', `/api/v1/reports/${refs[0]}`)).json();
        const names = detail.recipients.map((r: { name: string; login: string }) => `${r.name} (${r.login})`);
        expect(names).toEqual(['Alice Admin (alice)', 'Bob Coord (bob)', 'Dave (dave)']);
        // Carol is in another inbox: never a recipient of this report.
        expect(JSON.stringify(detail.recipients)).not.toContain('carol');
      });

      it('has an account older than signatures register its signing key once, and only with trusted keys', async () => {
        const dave = await login(t.app, 'dave', PASS.dave);
        const ring = await testKeyring();
        const row = (
          await t.db.query<{ public_key: string }>('SELECT public_key FROM coordinators WHERE id = $1', [
            ids.dave,
          ])
        ).rows[0]!;
        // As migration 0011 leaves an existing account: keys MACed, no signing key yet.
        await t.db.query('UPDATE coordinators SET signing_public_key = NULL, keys_mac = $2 WHERE id = $1', [
          ids.dave,
          coordinatorKeysMac(ring.current, {
            coordinatorId: ids.dave!,
            publicKey: row.public_key,
            signingPublicKey: null,
          }),
        ]);
        const kp = unwrapPrivateKey(dave.wrapKey, dave.body.coordinator.wrappedPrivateKey, ids.dave!);
        const signingPublicKey = encodeBytes(coordinatorSigningKeyPair(kp.privateKey).publicKey);
        const c = (await call(t.app, dave, 'GET', `/api/v1/reports/${refs[1]}`)).json();
        const sealed = sealReply(c.receiptPublicKey, 'x');
        const noKey = await call(t.app, dave, 'POST', `/api/v1/reports/${refs[1]}/replies`, {
          id: randomUUID(),
          sealed,
          signature: 'A'.repeat(86),
        });
        expect(noKey.json().error).toBe('no_signing_key');
        // Keys changed behind the service's back: no registration.
        await t.db.query("UPDATE coordinators SET keys_mac = 'AAAA' WHERE id = $1", [ids.dave]);
        const untrusted = await call(t.app, dave, 'POST', '/api/v1/account/signing-key', {
          signingPublicKey,
        });
        expect(untrusted.json().error).toBe('keys_untrusted');
        await t.db.query('UPDATE coordinators SET keys_mac = $2 WHERE id = $1', [
          ids.dave,
          coordinatorKeysMac(ring.current, {
            coordinatorId: ids.dave!,
            publicKey: row.public_key,
            signingPublicKey: null,
          }),
        ]);
        expect(
          (await call(t.app, dave, 'POST', '/api/v1/account/signing-key', { signingPublicKey })).statusCode,
        ).toBe(200);
        expect(
          (await call(t.app, dave, 'POST', '/api/v1/account/signing-key', { signingPublicKey })).json().error,
        ).toBe('already_registered');
        expect((await login(t.app, 'dave', PASS.dave)).body.coordinator.signingPublicKey).toBe(
          signingPublicKey,
        );
      });
    });

    describe('audit trail', () => {
      it('records logins, failures, views, transitions, assignments, notes, replies; admins read it', async () => {
        const res = await call(t.app, alice, 'GET', '/api/v1/audit?limit=1000');
        expect(res.statusCode).toBe(200);
        const actions = new Set(res.json().items.map((i: { action: string }) => i.action));
        for (const a of [
          'login',
          'login_failed',
          'logout',
          'view',
          'transition',
          'assignment',
          'note',
          'reply',
        ]) {
          expect(actions, a).toContain(a);
        }
        const dump = JSON.stringify(res.json());
        expect(dump).not.toContain(SECRET_TEXT);
        const filtered = await call(t.app, alice, 'GET', `/api/v1/audit?reference=${refs[0]}&action=view`);
        expect(filtered.json().items.length).toBeGreaterThan(0);
        const csv = await call(t.app, alice, 'GET', '/api/v1/audit?format=csv');
        expect(csv.headers['content-type']).toContain('text/csv');
        expect(csv.body.split('\r\n')[0]).toBe('id,at,actor_id,actor_name,action,reference,target_id,detail');
      });

      it('gives admins the head of the audit chain, the one `intake audit verify` prints', async () => {
        await call(t.app, alice, 'GET', '/api/v1/audit?limit=1');
        const res = await call(t.app, alice, 'GET', '/api/v1/admin/audit/head');
        expect(res.statusCode).toBe(200);
        const last = await t.db.query<{ hash: string; seq: number }>(
          'SELECT hash, seq FROM audit_log ORDER BY seq DESC LIMIT 1',
        );
        expect(res.json()).toEqual({ head: last.rows[0]!.hash, count: Number(last.rows[0]!.seq) });
        expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, head: res.json().head });
        expect((await call(t.app, bob, 'GET', '/api/v1/admin/audit/head')).statusCode).toBe(403);
        const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
        expect(doc.paths['/api/v1/admin/audit/head'].get.responses['200']).toBeDefined();
      });

      it('is append-only in the database itself: UPDATE, DELETE and TRUNCATE are refused', async () => {
        const before = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
        await expect(t.db.query("UPDATE audit_log SET action = 'x'")).rejects.toThrow(/append-only/);
        await expect(t.db.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
        await expect(t.db.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
        const after = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
        expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
      });
    });

    describe('administration', () => {
      it('creates an account from keys made client-side, grants it access by re-sealing, disables it', async () => {
        const id = randomUUID();
        const passphrase = 'eve temporary passphrase';
        const kp = generateCoordinatorKeyPair();
        const salt = newPwhashSalt();
        const keys = deriveLoginKeys(passphrase, salt);
        const created = await call(t.app, alice, 'POST', '/api/v1/admin/coordinators', {
          id,
          login: 'eve',
          name: 'Eve New',
          role: 'coordinator',
          inbox: 'coordination',
          publicKey: encodeBytes(kp.publicKey),
          wrappedPrivateKey: wrapPrivateKey(keys.wrapKey, kp.privateKey, id),
          salt: encodeBytes(salt),
          loginKey: encodeBytes(keys.loginKey),
        });
        expect(created.statusCode).toBe(201);
        const eve = await login(t.app, 'eve', passphrase);
        const before = (await call(t.app, eve, 'GET', '/api/v1/reports')).json().items;
        const total = (await call(t.app, bob, 'GET', '/api/v1/reports?limit=100')).json().items.length;
        expect(before.length).toBe(total);
        expect(before.every((i: { canOpen: boolean }) => !i.canOpen)).toBe(true);
        // Alice's browser opens each data key and re-seals it to Eve.
        const aliceKp = unwrapPrivateKey(
          alice.wrapKey,
          alice.body.coordinator.wrappedPrivateKey,
          alice.body.coordinator.id,
        );
        const mine = (await call(t.app, alice, 'GET', '/api/v1/admin/inboxes/coordination/keys')).json()
          .items as {
          reportId: string;
          sealedKey: string;
        }[];
        const grant = await call(t.app, alice, 'POST', '/api/v1/admin/grants', {
          coordinatorId: id,
          inbox: 'coordination',
          keys: mine.map((k) => ({
            reportId: k.reportId,
            sealedKey: resealDataKey(openDataKey(k.sealedKey, aliceKp), kp.publicKey),
          })),
        });
        expect(grant.statusCode).toBe(200);
        const c = (await call(t.app, eve, 'GET', `/api/v1/reports/${refs[1]}`)).json();
        const payload = openReport(
          { v: 1, reportId: c.id, nonce: c.nonce, ciphertext: c.ciphertext, sealedKey: c.sealedKey },
          unwrapPrivateKey(eve.wrapKey, eve.body.coordinator.wrappedPrivateKey, id),
        ) as { answers: { more: string } };
        expect(payload.answers.more).toBe(SECRET_TEXT);
        const stray = await call(t.app, alice, 'POST', '/api/v1/admin/grants', {
          coordinatorId: id,
          inbox: 'coordination',
          keys: [{ reportId: randomUUID(), sealedKey: 'A'.repeat(80) }],
        });
        expect(stray.statusCode).toBe(400);
        expect(
          (await call(t.app, alice, 'POST', `/api/v1/admin/coordinators/${id}/disable`)).statusCode,
        ).toBe(200);
        expect((await call(t.app, eve, 'GET', '/api/v1/reports')).statusCode).toBe(401);
        const list = (await call(t.app, alice, 'GET', '/api/v1/admin/coordinators')).json().items;
        expect(list.find((x: { login: string }) => x.login === 'eve').disabled).toBe(true);
      });

      it('enrols a TOTP second factor, then requires it (a code works once), and an admin resets it', async () => {
        const s = await login(t.app, 'dave', PASS.dave);
        const setup = await call(t.app, s, 'POST', '/api/v1/account/totp/setup');
        expect(setup.statusCode).toBe(200);
        const { secret, uri } = setup.json();
        expect(uri).toMatch(/^otpauth:\/\/totp\//);
        expect(
          (await call(t.app, s, 'POST', '/api/v1/account/totp/enable', { code: '000000' })).statusCode,
        ).toBe(400);
        const now = Date.now();
        expect(
          (await call(t.app, s, 'POST', '/api/v1/account/totp/enable', { code: totpCode(secret, now) }))
            .statusCode,
        ).toBe(200);
        const stored = await t.db.query<{ totp_sealed: string }>(
          "SELECT totp_sealed FROM coordinators WHERE login = 'dave'",
        );
        expect(stored.rows[0]!.totp_sealed).not.toContain(secret);
        const { loginKey } = await loginKeyFor(t.app, 'dave', PASS.dave);
        const post = (extra: object) =>
          t.app.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            payload: { login: 'dave', loginKey, ...extra },
          });
        // Without its code, or with a wrong one, the right passphrase gets the answer a wrong one gets.
        const wrongKey = (await loginKeyFor(t.app, 'dave', 'not dave at all, no')).loginKey;
        const wrong = await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { login: 'dave', loginKey: wrongKey },
        });
        for (const res of [await post({}), await post({ totp: '000000' })]) {
          expect(res.statusCode).toBe(401);
          expect(res.json()).toEqual(wrong.json());
          expect(res.body).toBe(wrong.body);
        }
        const next = totpCode(secret, now + 30_000);
        expect((await post({ totp: next })).statusCode).toBe(200);
        expect((await post({ totp: next })).statusCode).toBe(401); // replay refused
        expect(
          (await call(t.app, alice, 'POST', `/api/v1/admin/coordinators/${ids.dave}/totp/reset`)).statusCode,
        ).toBe(200);
        expect((await post({})).statusCode).toBe(200);
        await t.db.query('DELETE FROM inbox_login_failures');
      });
    });

    describe('throttling', () => {
      it('locks an (account name, address) pair after 5 failures with a growing back-off, known or not, without saying for how long', async () => {
        for (const name of ['dave', 'ghost']) {
          const wrong = await loginKeyFor(t.app, name, 'definitely the wrong passphrase');
          const attempt = () =>
            t.app.inject({
              method: 'POST',
              url: '/api/v1/auth/login',
              remoteAddress: '10.9.9.9',
              payload: { login: name, loginKey: wrong.loginKey },
            });
          for (let i = 0; i < 5; i++) expect((await attempt()).statusCode, `${name} #${i}`).toBe(401);
          const locked = await attempt();
          expect(locked.statusCode, name).toBe(429);
          expect(locked.headers['retry-after']).toBeUndefined();
          expect(locked.json().error).toBe('locked');
          expect(locked.body).not.toMatch(/\d/);
        }
        // From that address even the right passphrase waits until the lock ends.
        const right = await loginKeyFor(t.app, 'dave', PASS.dave);
        const fromLocked = () =>
          t.app.inject({
            method: 'POST',
            url: '/api/v1/auth/login',
            remoteAddress: '10.9.9.9',
            payload: { login: 'dave', loginKey: right.loginKey },
          });
        expect((await fromLocked()).statusCode).toBe(429);
        // The back-off grows: after the lock ends, the next failure locks for twice as long.
        const lockSeconds = async () => {
          const r = await t.db.query<{ s: number }>(
            'SELECT max(extract(epoch FROM locked_until - last_failure_at))::float AS s FROM inbox_login_failures',
          );
          return Number(r.rows[0]!.s);
        };
        const first = await lockSeconds();
        await t.db.query("UPDATE inbox_login_failures SET locked_until = now() - interval '1 second'");
        const wrong = await loginKeyFor(t.app, 'dave', 'still the wrong passphrase');
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: '10.9.9.9',
          payload: { login: 'dave', loginKey: wrong.loginKey },
        });
        expect((await fromLocked()).statusCode).toBe(429);
        expect(await lockSeconds()).toBeGreaterThan(first);
        // Neither the login nor the address is stored in clear.
        const rows = JSON.stringify((await t.db.query('SELECT * FROM inbox_login_failures')).rows);
        expect(rows).not.toContain('dave');
        expect(rows).not.toContain('ghost');
        expect(rows).not.toContain('10.9.9.9');
        await t.db.query('DELETE FROM inbox_login_failures');
      });
    });
  });
}

describe('inbox login rate limit per IP', () => {
  it('answers 429 past the per-IP limit, without affecting another address', async () => {
    process.env.INBOX_LOGIN_PER_MINUTE = '3';
    const t = await buildTestApp({ config: config() });
    try {
      const attempt = (ip: string) =>
        t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress: ip,
          payload: { login: `user-${ip}`, loginKey: 'A'.repeat(43) },
        });
      for (let i = 0; i < 3; i++) expect((await attempt('10.0.0.1')).statusCode).toBe(401);
      expect((await attempt('10.0.0.1')).statusCode).toBe(429);
      expect((await attempt('10.0.0.2')).statusCode).toBe(401);
    } finally {
      process.env.INBOX_LOGIN_PER_MINUTE = '1000';
      await t.close();
    }
  });
});
