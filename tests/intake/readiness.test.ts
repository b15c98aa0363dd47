import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import { encodeBytes, generateCoordinatorKeyPair } from '../../src/crypto/index.js';
import { buildTestApp, testConfig, testKeyring } from '../helper.js';

describe('readiness: a report is never sealed to nobody', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is not ready in production while an inbox has no coordinator key, and ready once it has one', async () => {
    const config = { ...testConfig(), nodeEnv: 'production' as const };
    // Production also requires authenticated Teams settings (see tests/channels/teams).
    vi.stubEnv('MicrosoftAppId', '11111111-2222-3333-4444-555555555555');
    vi.stubEnv('MicrosoftAppPassword', 'test-only-password');
    vi.stubEnv('MicrosoftAppTenantId', '66666666-7777-8888-9999-000000000000');
    const t = await buildTestApp({ config });
    try {
      const before = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(before.statusCode).toBe(503);
      expect(before.json().reason).toBe(
        'inboxes: inbox coordination has no coordinator key (run `intake coordinator add --inbox coordination`)',
      );
      await createCoordinator(
        t.db,
        t.keyring,
        {
          name: 'Camille',
          login: 'camille',
          inbox: 'coordination',
          passphrase: 'correct horse battery staple',
        },
        ['coordination'],
      );
      const after = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(after.statusCode).toBe(200);
      expect(after.json().checks.inboxes).toBe('ok');

      // A database writer adds a reader with their own public key: it receives nothing, and the service
      // is not ready until the row is dealt with.
      const intruder = randomUUID();
      await t.db.query(
        `INSERT INTO coordinators (id, login, display_name, public_key, wrapped_private_key, pwhash_salt, login_key_hash)
         VALUES ($1, 'intruder', 'Intruder', $2, 'x', 'x', 'x')`,
        [intruder, encodeBytes(generateCoordinatorKeyPair().publicKey)],
      );
      await t.db.query("INSERT INTO inbox_members (inbox_id, coordinator_id) VALUES ('coordination', $1)", [
        intruder,
      ]);
      const tampered = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(tampered.statusCode).toBe(503);
      expect(tampered.json().reason).toBe(
        'inboxes: inbox coordination: 1 membership fails the integrity check (added or changed outside the service) and receives nothing',
      );
      expect(tampered.body).not.toContain(intruder);
    } finally {
      await t.close();
    }
  });

  it('reports a membership that fails its MAC as a warning in development', async () => {
    const t = await buildTestApp();
    try {
      await createCoordinator(
        t.db,
        await testKeyring(),
        {
          name: 'Camille',
          login: 'camille',
          inbox: 'coordination',
          passphrase: 'correct horse battery staple',
        },
        ['coordination'],
      );
      // The real member's public key swapped for another one: the row's MAC no longer verifies.
      await t.db.query('UPDATE coordinators SET public_key = $1', [
        encodeBytes(generateCoordinatorKeyPair().publicKey),
      ]);
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(200);
      expect(JSON.stringify(res.json())).toContain('1 membership fails the integrity check');
      expect(JSON.stringify(res.json())).toContain('inbox coordination has no coordinator key');
    } finally {
      await t.close();
    }
  });
});
