/**
 * Coordinator-side operations, run by the coordinator's own client (the CLI here; the inbox UI runs the same
 * crypto in the browser): creating an account, unlocking it with the passphrase, changing the passphrase,
 * granting a colleague access to an inbox's reports, and opening reports. The passphrase and the private key
 * exist only in this process's memory; the server side stores the public key, the Argon2 salt, and the
 * wrapped private key and a hash of the login key, both sealed at rest with a master-key subkey
 * (./at-rest.ts), which is why these functions take the keyring.
 */
import { randomUUID } from 'node:crypto';
import {
  type CoordinatorKeyPair,
  coordinatorSigningKeyPair,
  decodeBytes,
  deriveLoginKeys,
  encodeBytes,
  generateCoordinatorKeyPair,
  hashLoginKey,
  initCrypto,
  newPwhashSalt,
  openDataKey,
  openFollowUp,
  openReport,
  resealDataKey,
  UnwrapError,
  unwrapPrivateKey,
  verifyLoginKey,
  wrapPrivateKey,
} from '../crypto/index.js';
import { keysAreTrusted, memberIsTrusted, memberMac } from '../intake/integrity.js';
import type { Keyring } from '../intake/keyring.js';
import {
  activeMemberships,
  addFollowUpKey,
  addInboxMember,
  addReportKey,
  type CoordinatorRow,
  type Database,
  findCoordinatorByLogin,
  findReportByReference,
  inboxesOf,
  inboxFollowUpKeys,
  inboxReportKeys,
  listFollowUps,
  listReportsForCoordinator,
  type ReportRow,
  sealedKeyFor,
  updateCoordinatorSecrets,
} from '../store/index.js';
import { loadCoordinatorSecrets, sealCoordinatorSecrets } from './at-rest.js';
import { accountProblem, CoordinatorError, enrolCoordinator, passphraseProblem } from './enrol.js';

export {
  type CoordinatorSecrets,
  loadCoordinatorSecrets,
  openCoordinatorSecrets,
  rotateCoordinatorSecrets,
  sealCoordinatorSecrets,
  sealLegacyCoordinatorSecrets,
} from './at-rest.js';
export {
  accountProblem,
  CoordinatorError,
  type EnrolmentMaterial,
  enrolCoordinator,
  passphraseProblem,
} from './enrol.js';
export {
  acceptInvitation,
  createInvitation,
  INVITATION_TTL_HOURS,
  type InvitationLookup,
  invitationUrl,
  lookupInvitation,
  type NewInvitation,
} from './invitations.js';

function secretsFor(
  keyring: Keyring,
  passphrase: string,
  keyPair: CoordinatorKeyPair,
  coordinatorId: string,
) {
  const salt = newPwhashSalt();
  const { loginKey, wrapKey } = deriveLoginKeys(passphrase, salt);
  const out = {
    pwhash_salt: encodeBytes(salt),
    ...sealCoordinatorSecrets(keyring.current, coordinatorId, {
      loginKeyHash: hashLoginKey(loginKey),
      wrappedPrivateKey: wrapPrivateKey(wrapKey, keyPair.privateKey, coordinatorId),
    }),
  };
  loginKey.fill(0);
  wrapKey.fill(0);
  return out;
}

export interface NewCoordinator {
  name: string;
  login: string;
  inbox: string;
  passphrase: string;
  role?: 'coordinator' | 'admin';
}

/**
 * Creates a coordinator with a fresh X25519 key pair and the Ed25519 signing key derived from it, member of
 * `inbox`. The keys and the membership are MACed with the current master key (`keyring`): without them
 * the account would receive nothing. Returns its id. For scripts and tests: the passphrase is typed on this
 * machine; invitations ({@link createInvitation}) let the coordinator choose it in their own browser.
 */
export async function createCoordinator(
  db: Database,
  keyring: Keyring,
  c: NewCoordinator,
  knownInboxes: string[],
): Promise<string> {
  await initCrypto();
  const bad = accountProblem(c.login, c.name);
  if (bad) throw new CoordinatorError(bad);
  if (!knownInboxes.includes(c.inbox)) {
    throw new CoordinatorError(`inbox: unknown inbox "${c.inbox}" (known: ${knownInboxes.join(', ')})`);
  }
  const problem = passphraseProblem(c.passphrase);
  if (problem) throw new CoordinatorError(problem);
  if (await findCoordinatorByLogin(db, c.login))
    throw new CoordinatorError(`login "${c.login}" already exists`);
  const id = randomUUID();
  const keyPair = generateCoordinatorKeyPair();
  const signing = coordinatorSigningKeyPair(keyPair.privateKey);
  const salt = newPwhashSalt();
  const { loginKey, wrapKey } = deriveLoginKeys(c.passphrase, salt);
  try {
    await db.transaction((tx) =>
      enrolCoordinator(tx, keyring, {
        id,
        login: c.login,
        name: c.name,
        role: c.role ?? 'coordinator',
        inbox: c.inbox,
        publicKey: encodeBytes(keyPair.publicKey),
        wrappedPrivateKey: wrapPrivateKey(wrapKey, keyPair.privateKey, id),
        salt: encodeBytes(salt),
        loginKey,
        signingPublicKey: encodeBytes(signing.publicKey),
      }),
    );
  } finally {
    loginKey.fill(0);
    wrapKey.fill(0);
    keyPair.privateKey.fill(0);
    signing.privateKey.fill(0);
  }
  return id;
}

/** An unlocked coordinator: its row and its key pair (in memory only). */
export interface Unlocked {
  coordinator: CoordinatorRow;
  keyPair: CoordinatorKeyPair;
}

/**
 * Unlocks an account with its passphrase. Wrong login or passphrase, or secrets that do not open with the
 * keyring (moved, altered, another master key): the same error.
 */
export async function unlock(
  db: Database,
  keyring: Keyring,
  login: string,
  passphrase: string,
): Promise<Unlocked> {
  await initCrypto();
  const refused = new CoordinatorError('wrong login or passphrase');
  const coordinator = await findCoordinatorByLogin(db, login);
  if (!coordinator || coordinator.disabled_at) throw refused;
  const secrets = await loadCoordinatorSecrets(db, keyring, coordinator.id);
  if (!secrets) throw refused;
  const { loginKey, wrapKey } = deriveLoginKeys(passphrase, decodeBytes(coordinator.pwhash_salt));
  try {
    if (!verifyLoginKey(loginKey, secrets.loginKeyHash)) throw refused;
    const keyPair = unwrapPrivateKey(wrapKey, secrets.wrappedPrivateKey, coordinator.id);
    return { coordinator, keyPair };
  } catch (err) {
    if (err instanceof UnwrapError) throw refused;
    throw err;
  } finally {
    loginKey.fill(0);
    wrapKey.fill(0);
  }
}

/** Re-wraps the private key under a new passphrase (new salt, new login key). */
export async function changePassphrase(
  db: Database,
  keyring: Keyring,
  me: Unlocked,
  newPassphrase: string,
): Promise<void> {
  const problem = passphraseProblem(newPassphrase);
  if (problem) throw new CoordinatorError(problem);
  const secrets = secretsFor(keyring, newPassphrase, me.keyPair, me.coordinator.id);
  await db.transaction(async (tx) => updateCoordinatorSecrets(tx, me.coordinator.id, secrets));
}

/**
 * Grants `toLogin` access to every report of `inbox`: the granter opens each data key with its own key pair
 * and re-seals it to the new member's public key, here in the client. The server never sees a data key.
 * Only a granter whose own membership verifies, and only to a colleague whose keys verify (MACs under the
 * master key in `keyring`): a row added behind the service's back neither grants nor is granted.
 * Returns how many reports were re-sealed and how many the granter itself could not open.
 */
export async function grantAccess(
  db: Database,
  me: Unlocked,
  toLogin: string,
  inbox: string,
  keyring: Keyring,
): Promise<{ resealed: number; skipped: number; messages: number }> {
  const mine = (await activeMemberships(db, inbox)).find((m) => m.coordinator_id === me.coordinator.id);
  if (!mine || !memberIsTrusted(keyring, mine, inbox)) {
    throw new CoordinatorError(`you are not a member of inbox "${inbox}"`);
  }
  const target = await findCoordinatorByLogin(db, toLogin);
  if (!target || target.disabled_at)
    throw new CoordinatorError(`no active coordinator with login "${toLogin}"`);
  if (!keysAreTrusted(keyring, target)) {
    throw new CoordinatorError(
      `the keys of "${toLogin}" fail the integrity check (changed outside the service): nothing granted`,
    );
  }
  const reports = await inboxReportKeys(db, inbox, me.coordinator.id);
  // The person's follow-up messages have their own data keys: re-sealed the same way.
  const messages = await inboxFollowUpKeys(db, inbox, me.coordinator.id);
  let resealed = 0;
  let skipped = 0;
  let messagesResealed = 0;
  await db.transaction(async (tx) => {
    await addInboxMember(tx, inbox, target.id, memberMac(keyring, inbox, target.id, target.public_key));
    for (const r of reports) {
      if (!r.sealed_key) {
        skipped++;
        continue;
      }
      const dataKey = openDataKey(r.sealed_key, me.keyPair);
      await addReportKey(tx, r.id, target.id, resealDataKey(dataKey, target.public_key));
      dataKey.fill(0);
      resealed++;
    }
    for (const m of messages) {
      if (!m.sealed_key) continue;
      const dataKey = openDataKey(m.sealed_key, me.keyPair);
      await addFollowUpKey(tx, m.id, target.id, resealDataKey(dataKey, target.public_key));
      dataKey.fill(0);
      messagesResealed++;
    }
  });
  return { resealed, skipped, messages: messagesResealed };
}

/** A report opened on the client: clear metadata plus the decrypted payload. */
export interface OpenedReport {
  reference: string;
  inbox: string;
  kind: string;
  channel: string;
  urgency: string;
  status: string;
  receivedAt: string;
  payload: Record<string, unknown>;
}

function opened(row: ReportRow, payload: Record<string, unknown>): OpenedReport {
  return {
    reference: row.reference,
    inbox: row.inbox_id,
    kind: row.flow_kind,
    channel: row.channel,
    urgency: row.urgency,
    status: row.status,
    receivedAt: new Date(row.received_at).toISOString(),
    payload,
  };
}

function openRow(row: ReportRow, sealedKey: string, me: Unlocked): OpenedReport {
  const payload = openReport(
    { v: row.envelope_version, reportId: row.id, nonce: row.nonce, ciphertext: row.ciphertext, sealedKey },
    me.keyPair,
  );
  return opened(row, payload);
}

/** Opens one report by reference. Not found, or not in the caller's inboxes: the same error. */
export async function showReport(
  db: Database,
  me: Unlocked,
  reference: string,
): Promise<OpenedReport & { followUps: { at: string; text: string | null }[] }> {
  const row = await findReportByReference(db, reference.trim().toUpperCase());
  const inboxes = await inboxesOf(db, me.coordinator.id);
  if (!row || !inboxes.includes(row.inbox_id))
    throw new CoordinatorError(`no report ${reference} in your inboxes`);
  const sealedKey = await sealedKeyFor(db, row.id, me.coordinator.id);
  if (!sealedKey) {
    throw new CoordinatorError(
      `report ${row.reference} was not sealed to you yet: ask a member to run \`intake coordinator grant\``,
    );
  }
  const report = openRow(row, sealedKey, me);
  // The person's messages from the web page, oldest first; one not sealed to this coordinator is listed
  // without text.
  const followUps = (await listFollowUps(db, row.id, me.coordinator.id)).map((f) => {
    let text: string | null = null;
    if (f.sealed_key) {
      try {
        const payload = openFollowUp(
          {
            v: f.envelope_version,
            reportId: row.id,
            messageId: f.id,
            nonce: f.nonce,
            ciphertext: f.ciphertext,
            sealedKey: f.sealed_key,
          },
          me.keyPair,
        );
        text = typeof payload.text === 'string' ? payload.text : null;
      } catch {
        text = null;
      }
    }
    return { at: new Date(f.created_at).toISOString(), text };
  });
  return { ...report, followUps };
}

/** Lists (and opens) the reports of the caller's inboxes, newest first. */
export async function listReports(
  db: Database,
  me: Unlocked,
  filter: { inbox?: string; status?: string; limit?: number } = {},
): Promise<(OpenedReport | (Omit<OpenedReport, 'payload'> & { payload: null }))[]> {
  const rows = await listReportsForCoordinator(db, {
    coordinatorId: me.coordinator.id,
    ...(filter.inbox ? { inboxId: filter.inbox } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.limit ? { limit: filter.limit } : {}),
  });
  return rows.map((row) =>
    row.sealed_key ? openRow(row, row.sealed_key, me) : { ...opened(row, {}), payload: null },
  );
}
