// Master-key rotation without downtime: the old key is accepted for reading while conversations, receipt
// tags and sealed contacts move to the new one.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import {
  coordinatorKeysMac,
  generateMasterKey,
  initCrypto,
  openContact,
  sealContact,
} from '../../src/crypto/index.js';
import { createIntake, loadKeyring, memberIsTrusted } from '../../src/intake/index.js';
import { loggerOptions } from '../../src/logger.js';
import {
  activeMemberships,
  type Database,
  findReportByReference,
  migrate,
  openEmbedded,
} from '../../src/store/index.js';
import { LogCapture, testConfig } from '../helper.js';
import { intake as cli } from '../support/cli.js';
import { insertSignedReply } from '../support/replies.js';
import { runWalk, youthWalk } from '../support/walks.js';

describe('master key rotation', () => {
  let db: Database;
  let oldKey: string;
  let newKey: string;
  beforeAll(async () => {
    await initCrypto();
    db = await openEmbedded();
    await migrate(db);
    oldKey = generateMasterKey();
    newKey = generateMasterKey();
    await createCoordinator(
      db,
      await loadKeyring(oldKey),
      { name: 'C', login: 'camille', inbox: 'coordination', passphrase: 'correct horse battery staple' },
      ['coordination'],
    );
  });
  afterAll(async () => {
    await db.close();
  });

  it('continues a conversation and finds a receipt sealed under the previous key, then moves them', async () => {
    const logger = pino(loggerOptions('warn'), new LogCapture());
    const before = await createIntake({ config: testConfig(), db, masterKey: oldKey, logger });
    const done = await runWalk(before.service, {
      user: 'u-done',
      payload: 'jeune',
      lang: 'fr',
      actions: youthWalk((i) => `a${i}`),
    });
    const half = await runWalk(before.service, {
      user: 'u-half',
      payload: 'jeune',
      lang: 'fr',
      actions: youthWalk((i) => `b${i}`).slice(0, 4),
    });
    expect(half.reference).toBeUndefined();
    const oldFingerprint = before.keyring.current.fingerprint;

    const config = testConfig();
    config.masterKeyPrevious = [oldKey];
    const after = await createIntake({ config, db, masterKey: newKey, logger });
    expect((await db.query('SELECT key_fingerprint FROM conversations')).rows).toEqual([
      { key_fingerprint: oldFingerprint },
    ]);
    // The half-done conversation goes on where it was, and ends up under the new key.
    const rest = await runWalk(after.service, {
      user: 'u-half',
      payload: '',
      lang: 'fr',
      actions: youthWalk((i) => `b${i}`).slice(4),
    });
    expect(rest.replies.some((r) => r.type === 'text' && /oubli|forgot/i.test(r.text))).toBe(false);
    expect(rest.reference).toMatch(/^R-/);

    // A reply to the report filed before the rotation is still read with its receipt; the tag moves.
    const row = await findReportByReference(db, done.reference!);
    await insertSignedReply(db, {
      reportId: row!.id,
      receiptPublicKey: row!.receipt_public_key!,
      text: 'réponse après rotation',
      login: 'camille',
      passphrase: 'correct horse battery staple',
      keyring: await loadKeyring(newKey, [oldKey]),
    });
    const tagBefore = (
      await db.query<{ receipt_tag: string }>('SELECT receipt_tag FROM reports WHERE id = $1', [row!.id])
    ).rows[0]!.receipt_tag;
    const read = await runWalk(after.service, {
      user: 'u-reader',
      payload: 'jeune',
      lang: 'fr',
      actions: [{ say: `/suivi ${done.receipt}` }],
    });
    expect(JSON.stringify(read.replies)).toContain('réponse après rotation');
    const tagAfter = (
      await db.query<{ receipt_tag: string }>('SELECT receipt_tag FROM reports WHERE id = $1', [row!.id])
    ).rows[0]!.receipt_tag;
    expect(tagAfter).not.toBe(tagBefore);
    // Without the previous key, the old conversation states would no longer open (they are discarded kindly).
    // Membership and key MACs would not verify either: `intake keys rotate-master` rewrites them under the new
    // key first (tested below); here the author's keys MAC is rewritten the same way.
    const c = (
      await db.query<{ id: string; public_key: string; signing_public_key: string | null }>(
        'SELECT id, public_key, signing_public_key FROM coordinators',
      )
    ).rows[0]!;
    await db.query('UPDATE coordinators SET keys_mac = $2 WHERE id = $1', [
      c.id,
      coordinatorKeysMac((await loadKeyring(newKey)).current, {
        coordinatorId: c.id,
        publicKey: c.public_key,
        signingPublicKey: c.signing_public_key,
      }),
    ]);
    const without = await createIntake({ config: testConfig(), db, masterKey: newKey, logger });
    const again = await runWalk(without.service, {
      user: 'u-reader2',
      payload: 'jeune',
      lang: 'fr',
      actions: [{ say: `/suivi ${done.receipt}` }],
    });
    expect(JSON.stringify(again.replies)).toContain('réponse après rotation'); // the tag already moved
  });

  it("re-seals opted-in contacts and coordinators' secrets with `intake keys rotate-master`", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-rotate-'));
    const env = {
      INTAKE_DATA_DIR: dataDir,
      INTAKE_MASTER_KEY: oldKey,
      INTAKE_PASSPHRASE: 'correct horse battery staple',
    };
    expect(
      cli(['coordinator', 'add', '--name', 'C', '--login', 'camille', '--inbox', 'coordination'], env).code,
    ).toBe(0);
    const chat = cli(['chat', 'youth'], env, 'Oui\n');
    expect(chat.code).toBe(0);
    // Put a sealed contact on a report row through the embedded database of that data dir.
    const oldRing = await loadKeyring(oldKey);
    const fileDb = await openEmbedded(join(dataDir, 'pgdata'));
    await fileDb.query(
      `INSERT INTO reports (id, reference, inbox_id, flow_kind, channel, urgency, envelope_version, nonce, ciphertext, contact_sealed)
       VALUES ($1, 'R-TEST01', 'coordination', 'youth', 'cli', 'normal', 1, 'n', 'c', $2)`,
      [randomUUID(), sealContact(oldRing.current, 'telegram:12345')],
    );
    await fileDb.query(`UPDATE coordinators SET totp_sealed = $1 WHERE login = 'camille'`, [
      sealContact(oldRing.current, 'totp:SECRET'),
    ]);
    await fileDb.query(
      `INSERT INTO teams_links (coordinator_id, reference_sealed) SELECT id, $1 FROM coordinators WHERE login = 'camille'`,
      [sealContact(oldRing.current, '{"conversation":"x"}')],
    );
    await fileDb.close();
    const r = cli(['keys', 'rotate-master'], { ...env, INTAKE_NEW_MASTER_KEY: newKey });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('submitter contacts re-sealed: 1');
    expect(r.stdout).toContain('second-factor secrets re-sealed: 1');
    expect(r.stdout).toContain('Teams links re-sealed: 1');
    expect(r.stdout).toContain('coordinator secrets re-sealed: 1');
    expect(r.stdout).toContain('conversations still under an older key: 1');
    // camille's membership and keys MAC, rewritten under the new key (verified with the old one first).
    expect(r.stdout).toContain('membership, key and legacy-reply MACs rewritten: 2\n');
    const check = await openEmbedded(join(dataDir, 'pgdata'));
    const newRing = await loadKeyring(newKey);
    const member = (await activeMemberships(check))[0]!;
    expect(memberIsTrusted(newRing, member, 'coordination')).toBe(true);
    const sealed = (
      await check.query<{ contact_sealed: string }>(
        `SELECT contact_sealed FROM reports WHERE reference = 'R-TEST01'`,
      )
    ).rows[0]!.contact_sealed;
    const totp = (
      await check.query<{ t: string }>(`SELECT totp_sealed AS t FROM coordinators WHERE login = 'camille'`)
    ).rows[0]!.t;
    const link = (await check.query<{ r: string }>('SELECT reference_sealed AS r FROM teams_links')).rows[0]!
      .r;
    await check.close();
    expect(openContact(newRing.current, sealed)).toBe('telegram:12345');
    expect(openContact(newRing.current, totp)).toBe('totp:SECRET');
    expect(openContact(newRing.current, link)).toBe('{"conversation":"x"}');
    expect(() => openContact(oldRing.current, sealed)).toThrow();
    // The coordinator's login-key hash and wrapped key moved too: the new key alone unlocks her.
    const newEnv = { ...env, INTAKE_MASTER_KEY: newKey };
    expect(cli(['reports', 'list', '--login', 'camille'], newEnv).code).toBe(0);
    const wrongPass = cli(['reports', 'list', '--login', 'camille'], {
      ...newEnv,
      INTAKE_PASSPHRASE: 'not the passphrase at all',
    });
    expect(wrongPass.code).toBe(1);
    expect(cli(['keys', 'rotate-master'], env).code).toBe(2); // no new key given
  }, 180_000);
});
