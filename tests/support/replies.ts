/**
 * What the inbox does when a coordinator replies, for tests of the reading side: unlock the account, seal
 * the text to the receipt key, sign it with the coordinator's signing key, store it.
 */
import { randomUUID } from 'node:crypto';
import { unlock } from '../../src/coordinators/index.js';
import { coordinatorSigningKeyPair, sealReply, signReply } from '../../src/crypto/index.js';
import type { Keyring } from '../../src/intake/index.js';
import { type Database, insertReply } from '../../src/store/index.js';
import { testKeyring } from '../helper.js';

export async function insertSignedReply(
  db: Database,
  r: {
    reportId: string;
    receiptPublicKey: string;
    text: string;
    login: string;
    passphrase: string;
    /** The keyring the coordinator's secrets are sealed with (default: the test master key's). */
    keyring?: Keyring;
  },
): Promise<string> {
  const me = await unlock(db, r.keyring ?? (await testKeyring()), r.login, r.passphrase);
  const signing = coordinatorSigningKeyPair(me.keyPair.privateKey);
  const id = randomUUID();
  const sealed = sealReply(r.receiptPublicKey, r.text);
  const signature = signReply(signing.privateKey, {
    reportId: r.reportId,
    replyId: id,
    authorId: me.coordinator.id,
    sealed,
  });
  await insertReply(db, { id, reportId: r.reportId, sealed, authorId: me.coordinator.id, signature });
  me.keyPair.privateKey.fill(0);
  signing.privateKey.fill(0);
  return id;
}
