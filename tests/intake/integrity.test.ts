/**
 * The one-time MAC of rows that existed before membership MACs (migration 0011): exactly those rows, once,
 * and only if unchanged; a row added afterwards is never vouched for.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBytes, generateCoordinatorKeyPair, initCrypto, sealReply } from '../../src/crypto/index.js';
import {
  backfillIntegrity,
  type Keyring,
  memberIsTrusted,
  replyIsAuthentic,
} from '../../src/intake/index.js';
import {
  activeMemberships,
  type Database,
  listMigrations,
  listReplies,
  openEmbedded,
} from '../../src/store/index.js';
import { testKeyring } from '../helper.js';

async function apply(db: Database, which: (version: number) => boolean) {
  for (const m of listMigrations().filter((x) => which(x.version))) await db.exec(m.sql);
}

describe('integrity backfill of rows older than migration 0011', () => {
  let db: Database;
  let ring: Keyring;
  const alice = randomUUID();
  const bob = randomUUID();
  const reportId = randomUUID();
  const replyId = randomUUID();

  beforeAll(async () => {
    await initCrypto();
    ring = await testKeyring();
    db = await openEmbedded();
    // The schema as it was before 0011, with a member, a colleague whose key will change, and a reply.
    await apply(db, (v) => v < 11);
    for (const [id, login] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      await db.query(
        `INSERT INTO coordinators (id, login, display_name, public_key, wrapped_private_key, pwhash_salt, login_key_hash)
         VALUES ($1, $2, $2, $3, 'x', 'x', 'x')`,
        [id, login, encodeBytes(generateCoordinatorKeyPair().publicKey)],
      );
      await db.query("INSERT INTO inbox_members (inbox_id, coordinator_id) VALUES ('coordination', $1)", [
        id,
      ]);
    }
    const receipt = generateCoordinatorKeyPair();
    await db.query(
      `INSERT INTO reports (id, reference, inbox_id, flow_kind, channel, urgency, envelope_version, nonce, ciphertext, receipt_public_key)
       VALUES ($1, 'R-ABCDEF', 'coordination', 'youth', 'cli', 'normal', 1, 'n', 'c', $2)`,
      [reportId, encodeBytes(receipt.publicKey)],
    );
    await db.query('INSERT INTO report_replies (id, report_id, sealed, author_id) VALUES ($1, $2, $3, $4)', [
      replyId,
      reportId,
      sealReply(receipt.publicKey, 'Bonjour'),
      alice,
    ]);
    await apply(db, (v) => v === 11);
  });
  afterAll(async () => {
    await db.close();
  });

  it('MACs what existed and is unchanged, once; later rows stay untrusted', async () => {
    // Behind the service's back, between the migration and the first start: bob's key is swapped and an
    // intruder is added. Neither is vouched for.
    await db.query('UPDATE coordinators SET public_key = $2 WHERE id = $1', [
      bob,
      encodeBytes(generateCoordinatorKeyPair().publicKey),
    ]);
    const intruder = randomUUID();
    await db.query(
      `INSERT INTO coordinators (id, login, display_name, public_key, wrapped_private_key, pwhash_salt, login_key_hash)
       VALUES ($1, 'intruder', 'intruder', $2, 'x', 'x', 'x')`,
      [intruder, encodeBytes(generateCoordinatorKeyPair().publicKey)],
    );
    await db.query("INSERT INTO inbox_members (inbox_id, coordinator_id) VALUES ('coordination', $1)", [
      intruder,
    ]);

    const first = await backfillIntegrity(db, ring);
    expect(first).toEqual({ members: 1, coordinators: 1, replies: 1 });
    const trusted = async () =>
      Object.fromEntries(
        (await activeMemberships(db)).map((m) => [m.coordinator_id, memberIsTrusted(ring, m, m.inbox_id)]),
      );
    expect(await trusted()).toEqual({ [alice]: true, [bob]: false, [intruder]: false });
    const [reply] = await listReplies(db, reportId);
    expect(replyIsAuthentic(ring, reportId, reply!)).toBe(true);

    // Idempotent: nothing is left to do, and rows without a MAC stay untrusted for good.
    expect(await backfillIntegrity(db, ring)).toEqual({ members: 0, coordinators: 0, replies: 0 });
    expect(await trusted()).toEqual({ [alice]: true, [bob]: false, [intruder]: false });

    // An attested legacy reply changed afterwards is not shown.
    await db.query("UPDATE report_replies SET sealed = sealed || 'A' WHERE id = $1", [replyId]);
    const [changed] = await listReplies(db, reportId);
    expect(replyIsAuthentic(ring, reportId, changed!)).toBe(false);
  });
});
