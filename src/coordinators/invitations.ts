/**
 * Invitations (issue 14, finding 3): instead of making an account's key pair and passphrase on the
 * operator's machine (`intake coordinator add`), an admin or the operator names the account (login, name,
 * role, inbox) and hands the invitee a one-time link. The invitee's browser makes the key pair, derives the
 * login and wrap keys from the passphrase they choose, and sends only public material (public keys, salt,
 * login key, wrapped private key), exactly what `POST /admin/coordinators` takes; the account is then
 * inserted by {@link enrolCoordinator} like every other.
 *
 * The token (256 random bits, base64url) is shown once, in the link's fragment (`#/invite/<token>`: a
 * browser never sends a fragment to the server, so it stays out of access logs and Referer headers). The
 * database keeps only HMAC-SHA256(key, token), the key derived with HKDF from the master key's integrity
 * subkey, so a dump alone cannot use an open invitation. A link works once, for 72 hours.
 */
import { createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import type { MasterKeys } from '../crypto/index.js';
import type { Keyring } from '../intake/keyring.js';
import {
  appendAudit,
  type Database,
  findCoordinatorById,
  findCoordinatorByLogin,
  findInvitationByTokenHash,
  insertInvitation,
  openInvitationForLogin,
  setInvitationAccount,
  useInvitation,
} from '../store/index.js';
import { accountProblem, CoordinatorError, type EnrolmentMaterial, enrolCoordinator } from './enrol.js';

/** How long an invitation link works. */
export const INVITATION_TTL_HOURS = 72;
/** Bytes of randomness in an invitation token (256 bits). */
export const INVITATION_TOKEN_BYTES = 32;
/** An invitation token as it appears in the link: base64url of 32 bytes. */
export const INVITATION_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const HKDF_INFO = 'intake/inbox/invitation-token/v1';

function tokenKey(keys: MasterKeys): Buffer {
  return Buffer.from(hkdfSync('sha256', keys.integrityKey, Buffer.alloc(0), HKDF_INFO, 32));
}

/** The stored form of a token under one master key: hex HMAC-SHA256. */
function tokenHash(keys: MasterKeys, token: string): string {
  const key = tokenKey(keys);
  const out = createHmac('sha256', key).update(token, 'utf8').digest('hex');
  key.fill(0);
  return out;
}

/** One hash per key of the keyring: an invitation made before a master-key rotation still opens. */
function tokenHashes(keyring: Keyring, token: string): string[] {
  return keyring.all.map((k) => tokenHash(k, token));
}

export interface NewInvitation {
  name: string;
  login: string;
  inbox: string;
  role: 'coordinator' | 'admin';
  /** The admin who invites; null for the operator's CLI. */
  createdBy: string | null;
}

/**
 * Creates an invitation (and its audit entry) and returns its id, the token (shown once, never stored)
 * and when it expires. Refuses (CoordinatorError) a bad login or name, an unknown inbox, a login already
 * taken or already named by an open invitation.
 */
export async function createInvitation(
  db: Database,
  keyring: Keyring,
  i: NewInvitation,
  knownInboxes: string[],
  now = Date.now(),
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const login = i.login.trim().toLowerCase();
  const bad = accountProblem(login, i.name);
  if (bad) throw new CoordinatorError(bad);
  if (!knownInboxes.includes(i.inbox)) {
    throw new CoordinatorError(`inbox: unknown inbox "${i.inbox}" (known: ${knownInboxes.join(', ')})`);
  }
  if (await findCoordinatorByLogin(db, login)) throw new CoordinatorError(`login "${login}" already exists`);
  if (await openInvitationForLogin(db, login)) {
    throw new CoordinatorError(`login "${login}" already has an open invitation (revoke it first)`);
  }
  const id = randomUUID();
  const token = randomBytes(INVITATION_TOKEN_BYTES).toString('base64url');
  const expiresAt = new Date(now + INVITATION_TTL_HOURS * 3600_000);
  await db.transaction(async (tx) => {
    await insertInvitation(tx, {
      id,
      tokenHash: tokenHash(keyring.current, token),
      login,
      displayName: i.name.trim(),
      role: i.role,
      inboxId: i.inbox,
      createdBy: i.createdBy,
      expiresAt,
    });
    await appendAudit(tx, { actorId: i.createdBy, action: 'invite_create', detail: `${i.inbox}:${id}` });
  });
  return { id, token, expiresAt };
}

/** The link to hand the invitee: the inbox UI, the token in the fragment. */
export function invitationUrl(publicBase: string, token: string): string {
  return `${publicBase.replace(/\/+$/, '')}/inbox/#/invite/${token}`;
}

/** Why an invitation cannot be used. */
export type InvitationRefusal = 'unknown' | 'used' | 'expired' | 'revoked';

/** What the invitee's page shows before the passphrase is chosen. */
export type InvitationLookup =
  | {
      status: 'open';
      invitation: {
        id: string;
        login: string;
        name: string;
        role: 'coordinator' | 'admin';
        inbox: string;
        expiresAt: Date;
      };
    }
  | { status: InvitationRefusal; id?: string };

/** Finds the invitation a token opens and says whether it can still be used. */
export async function lookupInvitation(
  db: Database,
  keyring: Keyring,
  token: string,
): Promise<InvitationLookup> {
  if (!INVITATION_TOKEN_PATTERN.test(token)) return { status: 'unknown' };
  const row = await findInvitationByTokenHash(db, tokenHashes(keyring, token));
  if (!row) return { status: 'unknown' };
  if (row.used_at) return { status: 'used', id: row.id };
  if (row.revoked_at) return { status: 'revoked', id: row.id };
  if (row.expired) return { status: 'expired', id: row.id };
  return {
    status: 'open',
    invitation: {
      id: row.id,
      login: row.login,
      name: row.display_name,
      role: row.role,
      inbox: row.inbox_id,
      expiresAt: new Date(row.expires_at),
    },
  };
}

class LoginTaken extends Error {}

/**
 * Uses an invitation: in one transaction, marks it used (only if still open: a second use, or two at once,
 * finds it closed) and inserts the account from the invitee's public material with the invitation's login,
 * name, role and inbox. A refusal of a known invitation (used, expired, revoked) is audited.
 */
export async function acceptInvitation(
  db: Database,
  keyring: Keyring,
  token: string,
  material: Omit<EnrolmentMaterial, 'login' | 'name' | 'role' | 'inbox'>,
): Promise<
  | { status: 'accepted'; coordinatorId: string; login: string; inbox: string }
  | { status: InvitationRefusal | 'login_taken' }
> {
  if (!INVITATION_TOKEN_PATTERN.test(token)) return { status: 'unknown' };
  const hashes = tokenHashes(keyring, token);
  let accepted: { login: string; inbox: string } | undefined;
  try {
    accepted = await db.transaction(async (tx) => {
      const row = await useInvitation(tx, hashes);
      if (!row) return undefined;
      if ((await findCoordinatorByLogin(tx, row.login)) || (await findCoordinatorById(tx, material.id))) {
        throw new LoginTaken();
      }
      await enrolCoordinator(tx, keyring, {
        ...material,
        login: row.login,
        name: row.display_name,
        role: row.role,
        inbox: row.inbox_id,
      });
      await setInvitationAccount(tx, row.id, material.id);
      await appendAudit(tx, {
        actorId: material.id,
        action: 'invite_accept',
        targetId: material.id,
        detail: `${row.inbox_id}:${row.id}`,
      });
      return { login: row.login, inbox: row.inbox_id };
    });
  } catch (err) {
    if (err instanceof LoginTaken) return { status: 'login_taken' };
    throw err;
  }
  if (accepted) return { status: 'accepted', coordinatorId: material.id, ...accepted };
  const why = await lookupInvitation(db, keyring, token);
  const status: InvitationRefusal = why.status === 'open' ? 'used' : why.status;
  if (why.status !== 'unknown' && why.status !== 'open') {
    await appendAudit(db, { actorId: null, action: 'invite_refused', detail: `${why.status}:${why.id}` });
  }
  return { status };
}
