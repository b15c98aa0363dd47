// Invitations (issue 14, finding 3) and the admin's inbox scope, against the real app, real crypto and a
// real database (embedded, plus PostgreSQL when DATABASE_URL is set): an admin invites, the invitee's
// "browser" (the helper) makes the keys and sends public material only, the link works once and not after
// it expired; an admin acts only on the inboxes it is a member of (403 elsewhere, on every admin action).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import { initCrypto, openReport } from '../../src/crypto/index.js';
import { keysAreTrusted, memberIsTrusted, memberMac } from '../../src/intake/index.js';
import { activeMemberships, addInboxMember, findCoordinatorByLogin } from '../../src/store/index.js';
import { buildTestApp, type TestApp, testConfig } from '../helper.js';
import { backends } from '../support/databases.js';
import { call, enrolmentMaterial, login, type Session, submitYouthReport } from './support.js';

const PASS = {
  alice: 'alice correct horse battery',
  bob: 'bob staple paper clip river',
  carol: 'carol other inbox passphrase',
  yann: 'yann belongs to both inboxes',
};

for (const backend of backends()) {
  describe(`invitations and admin scope (${backend.name})`, () => {
    let t: TestApp;
    let cleanup: () => Promise<void>;
    const ids: Record<string, string> = {};
    let alice: Session;
    const known = ['coordination', 'autre'];

    beforeAll(async () => {
      await initCrypto();
      process.env.INBOX_LOGIN_PER_MINUTE = '1000';
      const opened = await backend.open();
      cleanup = opened.cleanup;
      t = await buildTestApp({
        db: opened.db,
        config: testConfig({
          inboxes: [
            { id: 'coordination', name: 'Coordination 93' },
            { id: 'autre', name: 'Autre boîte' },
          ],
        }),
      });
      const add = (name: string, login: string, inbox: string, role?: 'admin') =>
        createCoordinator(
          t.db,
          t.keyring,
          { name, login, inbox, passphrase: PASS[login as keyof typeof PASS], ...(role ? { role } : {}) },
          known,
        );
      ids.alice = await add('Alice Admin', 'alice', 'coordination', 'admin');
      ids.bob = await add('Bob Coord', 'bob', 'coordination');
      ids.carol = await add('Carol Autre', 'carol', 'autre');
      ids.yann = await add('Yann Both', 'yann', 'coordination');
      const yann = (await findCoordinatorByLogin(t.db, 'yann'))!;
      await addInboxMember(t.db, 'autre', yann.id, memberMac(t.keyring, 'autre', yann.id, yann.public_key));
      alice = await login(t.app, 'alice', PASS.alice);
    }, 120_000);

    afterAll(async () => {
      await t?.close();
      await cleanup?.();
    });

    const invite = (body: object, s: Session = alice) =>
      call(t.app, s, 'POST', '/api/v1/admin/invitations', body);
    const accept = (body: object) =>
      t.app.inject({ method: 'POST', url: '/api/v1/invitations/accept', payload: body });
    const lookup = (token: string) =>
      t.app.inject({ method: 'POST', url: '/api/v1/invitations/lookup', payload: { token } });
    const auditActions = async () =>
      (
        await t.db.query<{ action: string; detail: string | null }>(
          'SELECT action, detail FROM audit_log ORDER BY seq',
        )
      ).rows;

    it('invites, the invitee joins with keys made client-side (later reports sealed to it, earlier ones wait for a grant); the link works once', async () => {
      const earlier = await submitYouthReport(t.app, { user: 'tg-inv-1' });
      const res = await invite({
        login: 'nina',
        name: 'Nina Nouvelle',
        role: 'coordinator',
        inbox: 'coordination',
      });
      expect(res.statusCode, res.body).toBe(201);
      const { token, url, expiresAt, id: invitationId } = res.json();
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(url).toMatch(/^https?:\/\/[^/]+\/inbox\/#\/invite\/[A-Za-z0-9_-]{43}$/);
      expect(url.endsWith(token)).toBe(true);
      const hours = (Date.parse(expiresAt) - Date.now()) / 3600_000;
      expect(hours).toBeGreaterThan(71.9);
      expect(hours).toBeLessThanOrEqual(72);
      // Only a keyed hash of the token is stored.
      const stored = JSON.stringify((await t.db.query('SELECT * FROM coordinator_invitations')).rows);
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(Buffer.from(token, 'base64url').toString('hex'));

      const seen = await lookup(token);
      expect(seen.statusCode).toBe(200);
      expect(seen.json()).toMatchObject({
        login: 'nina',
        name: 'Nina Nouvelle',
        role: 'coordinator',
        inbox: { id: 'coordination', name: 'Coordination 93' },
      });

      const passphrase = 'nina choisit sa phrase de passe';
      const m = await enrolmentMaterial(passphrase);
      const ok = await accept({ token, ...m.body });
      expect(ok.statusCode, ok.body).toBe(201);
      expect(ok.json()).toEqual({ id: m.body.id, login: 'nina' });
      // Stored like every other account: secrets sealed at rest, keys and membership under their MACs.
      const row = (await findCoordinatorByLogin(t.db, 'nina'))!;
      expect(row).toMatchObject({ id: m.body.id, role: 'coordinator', display_name: 'Nina Nouvelle' });
      expect(keysAreTrusted(t.keyring, row)).toBe(true);
      const membership = (await activeMemberships(t.db, 'coordination')).find(
        (x) => x.coordinator_id === row.id,
      )!;
      expect(memberIsTrusted(t.keyring, membership, 'coordination')).toBe(true);
      const secrets = JSON.stringify(
        (
          await t.db.query('SELECT login_key_hash, wrapped_private_key FROM coordinators WHERE id = $1', [
            row.id,
          ])
        ).rows,
      );
      expect(secrets).not.toContain(m.body.wrappedPrivateKey);

      // A second use of the same link, with other keys: refused, and nothing changes.
      const again = await accept({ token, ...(await enrolmentMaterial('someone else entirely')).body });
      expect(again.statusCode).toBe(410);
      expect(again.json().error).toBe('used');
      expect((await lookup(token)).statusCode).toBe(410);

      // The new account logs in with its passphrase; earlier reports wait for a grant; later ones are sealed to it.
      const nina = await login(t.app, 'nina', passphrase);
      const before = await call(t.app, nina, 'GET', `/api/v1/reports/${earlier.reference}`);
      expect(before.json().sealedKey).toBeNull();
      const later = await submitYouthReport(t.app, { user: 'tg-inv-2' });
      const c = (await call(t.app, nina, 'GET', `/api/v1/reports/${later.reference}`)).json();
      const payload = openReport(
        {
          v: c.envelopeVersion,
          reportId: c.id,
          nonce: c.nonce,
          ciphertext: c.ciphertext,
          sealedKey: c.sealedKey,
        },
        m.keyPair,
      ) as { answers: Record<string, unknown> };
      expect(Object.keys(payload.answers).length).toBeGreaterThan(0);

      const actions = await auditActions();
      expect(actions).toContainEqual({ action: 'invite_create', detail: `coordination:${invitationId}` });
      expect(actions).toContainEqual({ action: 'invite_accept', detail: `coordination:${invitationId}` });
      expect(actions).toContainEqual({ action: 'invite_refused', detail: `used:${invitationId}` });
    });

    it('refuses an expired invitation, and audits the refusal', async () => {
      const res = await invite({
        login: 'otto',
        name: 'Otto Tard',
        role: 'coordinator',
        inbox: 'coordination',
      });
      expect(res.statusCode).toBe(201);
      const { token, id } = res.json();
      await t.db.query(
        "UPDATE coordinator_invitations SET expires_at = now() - interval '1 minute' WHERE id = $1",
        [id],
      );
      const seen = await lookup(token);
      expect(seen.statusCode).toBe(410);
      expect(seen.json().error).toBe('expired');
      const late = await accept({ token, ...(await enrolmentMaterial('otto arrive trop tard')).body });
      expect(late.statusCode).toBe(410);
      expect(late.json().error).toBe('expired');
      expect(await findCoordinatorByLogin(t.db, 'otto')).toBeUndefined();
      expect(await auditActions()).toContainEqual({ action: 'invite_refused', detail: `expired:${id}` });
      // The login is free again for a new invitation.
      expect(
        (await invite({ login: 'otto', name: 'Otto Tard', role: 'coordinator', inbox: 'coordination' }))
          .statusCode,
      ).toBe(201);
    });

    it('refuses an unknown token, a taken login, a second open invitation, and a revoked link', async () => {
      expect((await lookup('A'.repeat(43))).statusCode).toBe(404);
      const unknown = await accept({
        token: 'A'.repeat(43),
        ...(await enrolmentMaterial('nobody invited me')).body,
      });
      expect(unknown.statusCode).toBe(404);
      expect(
        (await invite({ login: 'bob', name: 'Bob Again', role: 'coordinator', inbox: 'coordination' }))
          .statusCode,
      ).toBe(409);
      const first = await invite({ login: 'paul', name: 'Paul', role: 'admin', inbox: 'coordination' });
      expect(first.statusCode).toBe(201);
      expect(
        (await invite({ login: 'paul', name: 'Paul', role: 'admin', inbox: 'coordination' })).statusCode,
      ).toBe(409);
      const revoked = await call(t.app, alice, 'POST', `/api/v1/admin/invitations/${first.json().id}/revoke`);
      expect(revoked.statusCode).toBe(200);
      expect((await lookup(first.json().token)).json().error).toBe('revoked');
      const list = (await call(t.app, alice, 'GET', '/api/v1/admin/invitations')).json().items;
      expect(list.find((i: { id: string }) => i.id === first.json().id).status).toBe('revoked');
      // Tokens are never listed.
      expect(JSON.stringify(list)).not.toContain(first.json().token);
    });

    it('lets an admin act only on the inboxes it is a member of (403 elsewhere)', async () => {
      const other = { login: 'zed', name: 'Zed', role: 'coordinator', inbox: 'autre' };
      const refused = await invite(other);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error).toBe('forbidden_inbox');
      const m = await enrolmentMaterial('zed passphrase made here');
      const checks: [string, string, object | undefined][] = [
        [
          'POST',
          '/api/v1/admin/coordinators',
          { ...m.body, login: 'zed', name: 'Zed', role: 'coordinator', inbox: 'autre' },
        ],
        ['GET', '/api/v1/admin/inboxes/autre/keys', undefined],
        ['POST', '/api/v1/admin/grants', { coordinatorId: ids.bob, inbox: 'autre', keys: [] }],
        // Carol is in 'autre' only; Yann is in both: an admin of 'coordination' alone manages neither.
        ...(['carol', 'yann'] as const).flatMap((who): [string, string, object | undefined][] => [
          ['POST', `/api/v1/admin/coordinators/${ids[who]}/disable`, undefined],
          ['POST', `/api/v1/admin/coordinators/${ids[who]}/enable`, undefined],
          ['POST', `/api/v1/admin/coordinators/${ids[who]}/totp/reset`, undefined],
          ['POST', `/api/v1/admin/coordinators/${ids[who]}/role`, { role: 'admin' }],
        ]),
      ];
      for (const [method, url, body] of checks) {
        const res = await call(t.app, alice, method as 'GET' | 'POST', url, body);
        expect(res.statusCode, `${method} ${url}`).toBe(403);
        expect(res.json().error, `${method} ${url}`).toBe('forbidden_inbox');
      }
      expect(await findCoordinatorByLogin(t.db, 'zed')).toBeUndefined();
      const carol = (await findCoordinatorByLogin(t.db, 'carol'))!;
      expect(carol.disabled_at).toBeNull();
      expect(carol.role).toBe('coordinator');
      // The list shows accounts sharing an inbox, and says which ones this admin may act on.
      const list = (await call(t.app, alice, 'GET', '/api/v1/admin/coordinators')).json();
      expect(list.managedInboxes).toEqual(['coordination']);
      const logins = list.items.map((i: { login: string }) => i.login);
      expect(logins).not.toContain('carol');
      expect(list.items.find((i: { login: string }) => i.login === 'yann').manageable).toBe(false);
      expect(list.items.find((i: { login: string }) => i.login === 'bob').manageable).toBe(true);
      // A membership row added behind the service's back (no valid MAC) gives no admin power either.
      await t.db.query(
        "INSERT INTO inbox_members (inbox_id, coordinator_id, mac) VALUES ('autre', $1, 'forged')",
        [ids.alice],
      );
      const s = await login(t.app, 'alice', PASS.alice);
      expect((await invite(other, s)).statusCode).toBe(403);
      await t.db.query("DELETE FROM inbox_members WHERE inbox_id = 'autre' AND coordinator_id = $1", [
        ids.alice,
      ]);
    });

    it('changes a role (ending that account’s sessions), never its own', async () => {
      const bob = await login(t.app, 'bob', PASS.bob);
      const self = await call(t.app, alice, 'POST', `/api/v1/admin/coordinators/${ids.alice}/role`, {
        role: 'coordinator',
      });
      expect(self.statusCode).toBe(400);
      const res = await call(t.app, alice, 'POST', `/api/v1/admin/coordinators/${ids.bob}/role`, {
        role: 'admin',
      });
      expect(res.statusCode).toBe(200);
      expect((await call(t.app, bob, 'GET', '/api/v1/workflow')).statusCode).toBe(401);
      const again = await login(t.app, 'bob', PASS.bob);
      expect(again.body.coordinator.role).toBe('admin');
      expect(await auditActions()).toContainEqual({ action: 'role_change', detail: 'admin' });
      await call(t.app, alice, 'POST', `/api/v1/admin/coordinators/${ids.bob}/role`, { role: 'coordinator' });
    });
  });
}
