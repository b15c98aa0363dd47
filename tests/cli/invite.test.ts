// `intake coordinator invite` prints a one-time link (PUBLIC_URL, or localhost and PORT), stores only a
// keyed hash of its token, refuses a login already invited or taken, and the link then opens an account
// through the API with keys made on the invitee's side.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptInvitation, lookupInvitation } from '../../src/coordinators/index.js';
import { decodeBytes } from '../../src/crypto/index.js';
import { loadKeyring } from '../../src/intake/index.js';
import { openEmbedded } from '../../src/store/index.js';
import { enrolmentMaterial } from '../inbox/support.js';
import { intake } from '../support/cli.js';

const LINK = /(\S+)\/inbox\/#\/invite\/([A-Za-z0-9_-]{43})\n/;

describe('intake coordinator invite', () => {
  it('prints a one-time URL, with PUBLIC_URL or localhost:PORT', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-invite-'));
    const env = { INTAKE_DATA_DIR: dataDir };
    const args = [
      'coordinator',
      'invite',
      '--name',
      'Inès Invitée',
      '--login',
      'ines',
      '--inbox',
      'coordination',
    ];
    const r = intake(args, { ...env, PORT: '3123' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = LINK.exec(r.stdout);
    expect(m?.[1]).toBe('http://localhost:3123');
    const token = m![2]!;
    expect(r.stdout).toMatch(/valid until \d{4}-\d\d-\d\dT/);

    // The same login again: refused while the first link is open.
    const twice = intake(args, env);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('already has an open invitation');
    const other = intake(
      [
        'coordinator',
        'invite',
        '--name',
        'Admin B',
        '--login',
        'adminb',
        '--inbox',
        'coordination',
        '--admin',
      ],
      { ...env, PUBLIC_URL: 'https://intake.example.org/' },
    );
    expect(other.code).toBe(0);
    expect(LINK.exec(other.stdout)?.[1]).toBe('https://intake.example.org');
    const unknownInbox = intake(
      ['coordinator', 'invite', '--name', 'X', '--login', 'xx', '--inbox', 'nope'],
      env,
    );
    expect(unknownInbox.code).toBe(1);
    expect(unknownInbox.stderr).toContain('unknown inbox');

    // What the CLI stored: a keyed hash, not the token; the link opens with the same master key.
    const db = await openEmbedded(join(dataDir, 'pgdata'));
    try {
      const rows = JSON.stringify((await db.query('SELECT * FROM coordinator_invitations')).rows);
      expect(rows).not.toContain(token);
      // The development master key the CLI generated in the data directory.
      const keyFile = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
      const keyring = await loadKeyring(keyFile);
      const seen = await lookupInvitation(db, keyring, token);
      expect(seen).toMatchObject({ status: 'open', invitation: { login: 'ines', role: 'coordinator' } });
      const m2 = await enrolmentMaterial('inès choisit sa phrase');
      const { loginKey, ...rest } = m2.body;
      const done = await acceptInvitation(db, keyring, token, { ...rest, loginKey: decodeBytes(loginKey) });
      expect(done).toMatchObject({ status: 'accepted', login: 'ines', inbox: 'coordination' });
      const audit = (await db.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq')).rows;
      expect(audit.map((a) => a.action)).toEqual(['invite_create', 'invite_create', 'invite_accept']);
    } finally {
      await db.close();
    }
  }, 120_000);
});
