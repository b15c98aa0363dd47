/**
 * What the inbox does when a coordinator replies, for tests of the reading side: unlock the account, seal
 * the text to the receipt key, sign it with the coordinator's signing key, store it.
 */
import { randomUUID } from 'node:crypto';
import { unlock } from '../../src/coordinators/index.js';
import { coordinatorSigningKeyPair, sealReply, signReply } from '../../src/crypto/index.js';
import type { Keyring } from '../../src/intake/index.js';
import { type Database, findReportByReference, insertReply } from '../../src/store/index.js';
import { type TestApp, testKeyring } from '../helper.js';
import { runWalk, youthWalk } from './walks.js';

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

/** A coordinator replies to the report with this reference (found with the store's own lookup). */
export async function replyToReference(
  db: Database,
  reference: string,
  r: { text: string; login: string; passphrase: string },
) {
  const report = await findReportByReference(db, reference);
  if (!report?.receipt_public_key) throw new Error(`no report with a receipt under ${reference}`);
  await insertSignedReply(db, { reportId: report.id, receiptPublicKey: report.receipt_public_key, ...r });
  return report;
}

/** Files a youth report through a chat (the CLI channel); returns its row and the receipt the chat gave. */
export async function fileFromChat(t: TestApp, user: string) {
  const done = await runWalk(t.app.intake.pipeline.service, {
    user,
    payload: 'jeune',
    lang: 'fr',
    actions: youthWalk((i) => `texte ${i}`),
  });
  if (!done.receipt || !done.reference) throw new Error('the chat walk gave no receipt');
  const row = await findReportByReference(t.db, done.reference);
  if (!row) throw new Error(`report ${done.reference} not stored`);
  return { row, receipt: done.receipt };
}
