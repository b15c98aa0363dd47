/**
 * Server-side integrity checks over rows a database writer could have added or changed: which members of
 * an inbox may be sealed a report (membership MAC), which signing key a coordinator really has (keys MAC),
 * whether a reply may be shown to a young person (signature, or the migration's attestation), and the
 * one-time MAC of the rows that existed when migration 0011 ran. Writes always use the current master
 * key; checks accept every key of the keyring (rotation).
 */
import {
  coordinatorKeysMac,
  inboxMemberMac,
  legacyReplyMac,
  verifyCoordinatorKeysMac,
  verifyInboxMemberMac,
  verifyLegacyReplyMac,
  verifyReplySignature,
} from '../crypto/index.js';
import {
  clearIntegrityBackfill,
  type Database,
  pendingIntegrityBackfill,
  type ReplyRow,
  setCoordinatorKeysMac,
  setLegacyReplyMac,
  setMembershipMac,
} from '../store/index.js';
import type { Keyring } from './keyring.js';

/** The membership MAC to store with a new (or re-confirmed) member. */
export function memberMac(keyring: Keyring, inboxId: string, coordinatorId: string, publicKey: string) {
  return inboxMemberMac(keyring.current, { inboxId, coordinatorId, publicKey });
}

/** The keys MAC to store with a coordinator's public keys. */
export function keysMac(
  keyring: Keyring,
  coordinatorId: string,
  publicKey: string,
  signingPublicKey: string | null,
) {
  return coordinatorKeysMac(keyring.current, { coordinatorId, publicKey, signingPublicKey });
}

/** Whether a membership row is one the service wrote (its MAC verifies under a key of the keyring). */
export function memberIsTrusted(
  keyring: Keyring,
  row: { inbox_id?: string; coordinator_id?: string; id?: string; public_key: string; mac: string | null },
  inboxId: string,
): boolean {
  const coordinatorId = row.coordinator_id ?? row.id ?? '';
  return verifyInboxMemberMac(keyring.all, { inboxId, coordinatorId, publicKey: row.public_key }, row.mac);
}

/**
 * A coordinator's signing public key if the service vouches for it (keys MAC verifies and one is set),
 * else null: a note or reply from this author cannot be verified.
 */
export function trustedSigningKey(
  keyring: Keyring,
  c: { id: string; public_key: string | null; signing_public_key: string | null; keys_mac: string | null },
): string | null {
  if (!c.public_key || !c.signing_public_key) return null;
  const ok = verifyCoordinatorKeysMac(
    keyring.all,
    { coordinatorId: c.id, publicKey: c.public_key, signingPublicKey: c.signing_public_key },
    c.keys_mac,
  );
  return ok ? c.signing_public_key : null;
}

/** Whether the service vouches for a coordinator's X25519 key (keys MAC, with or without a signing key). */
export function keysAreTrusted(
  keyring: Keyring,
  c: { id: string; public_key: string; signing_public_key: string | null; keys_mac: string | null },
): boolean {
  return verifyCoordinatorKeysMac(
    keyring.all,
    { coordinatorId: c.id, publicKey: c.public_key, signingPublicKey: c.signing_public_key },
    c.keys_mac,
  );
}

/**
 * Whether a reply may be shown to the submitter: signed by its author with the signing key the service
 * vouches for, or (replies older than signatures) attested once by the migration backfill.
 */
export function replyIsAuthentic(keyring: Keyring, reportId: string, r: ReplyRow): boolean {
  if (r.signature) {
    if (!r.author_id) return false;
    const key = trustedSigningKey(keyring, {
      id: r.author_id,
      public_key: r.author_public_key,
      signing_public_key: r.author_signing_public_key,
      keys_mac: r.author_keys_mac,
    });
    return (
      key !== null &&
      verifyReplySignature(key, r.signature, {
        reportId,
        replyId: r.id,
        authorId: r.author_id,
        sealed: r.sealed,
      })
    );
  }
  return verifyLegacyReplyMac(keyring.all, { replyId: r.id, reportId, sealed: r.sealed }, r.legacy_mac);
}

/** What {@link backfillIntegrity} did. */
export interface BackfillResult {
  members: number;
  coordinators: number;
  replies: number;
}

/**
 * MACs, once, the memberships, coordinators' keys and replies that existed when migration 0011 ran (and
 * are unchanged since), then empties the lists. Idempotent: a second call finds nothing. Rows added later
 * without a MAC are never MACed here: they receive nothing and are not shown.
 */
export async function backfillIntegrity(db: Database, keyring: Keyring): Promise<BackfillResult> {
  return db.transaction(async (tx) => {
    const pending = await pendingIntegrityBackfill(tx);
    for (const m of pending.members) {
      await setMembershipMac(
        tx,
        m.inbox_id,
        m.coordinator_id,
        memberMac(keyring, m.inbox_id, m.coordinator_id, m.public_key),
      );
    }
    for (const c of pending.coordinators) {
      await setCoordinatorKeysMac(tx, c.id, keysMac(keyring, c.id, c.public_key, null));
    }
    let replies = 0;
    for (const r of pending.replies) {
      let mac: string;
      try {
        mac = legacyReplyMac(keyring.current, { replyId: r.id, reportId: r.report_id, sealed: r.sealed });
      } catch {
        continue; // not even well-formed: it could not be opened anyway
      }
      await setLegacyReplyMac(tx, r.id, mac);
      replies++;
    }
    await clearIntegrityBackfill(tx);
    return {
      members: pending.members.length,
      coordinators: pending.coordinators.length,
      replies,
    };
  });
}
