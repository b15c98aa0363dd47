/** `intake keys rotate-master`: move what the master key protects to a new master key, without downtime. */
import type { Command } from 'commander';
import { rotateCoordinatorSecrets } from '../coordinators/index.js';
import {
  coordinatorKeysMac,
  inboxMemberMac,
  legacyReplyMac,
  openContact,
  sealContact,
  verifyCoordinatorKeysMac,
  verifyInboxMemberMac,
  verifyLegacyReplyMac,
} from '../crypto/index.js';
import { loadKeyring } from '../intake/index.js';
import { resolveMasterKey } from '../secrets.js';
import {
  allCoordinatorKeys,
  allLegacyReplies,
  allMemberships,
  countConversationsNotUnder,
  type Database,
  listContactSealedValues,
  setCoordinatorKeysMac,
  setLegacyReplyMac,
  setMembershipMac,
  updateContactSealedValue,
} from '../store/index.js';
import { CliError, withDatabase } from './context.js';

export function registerKeysCommands(program: Command) {
  const keys = program.command('keys').description('Master key management.');
  keys
    .command('rotate-master')
    .description(
      "Re-seal what the master key seals (contacts, second factors, Teams links, coordinators' login-key hashes and wrapped keys) under a new master key.",
    )
    .addHelpText(
      'after',
      `
Run with the current key in INTAKE_MASTER_KEY and the new one in INTAKE_NEW_MASTER_KEY (\`npx intake keygen\`).
Then restart the service with INTAKE_MASTER_KEY=<new> and INTAKE_MASTER_KEY_PREVIOUS=<old>: the old key is
only used for reading. Conversations in progress are sealed with a key that needs the platform user id,
which is never stored, so they move to the new key on their next message (or expire). Receipt lookup tags
are keyed hashes of receipts the service never stores: they move when the receipt is next used. Keep the
old key in INTAKE_MASTER_KEY_PREVIOUS until this command reports 0 conversations and the reports issued
before the rotation are closed and purged. See docs/SECURITY.md.`,
    )
    .action(async () => {
      const next = process.env.INTAKE_NEW_MASTER_KEY;
      if (!next)
        throw new CliError('INTAKE_NEW_MASTER_KEY is not set (make one with `npx intake keygen`)', 2);
      await withDatabase(async (db, config) => {
        const current = resolveMasterKey(config).key;
        if (current.trim() === next.trim()) throw new CliError('the new master key is the current one', 2);
        const oldRing = await loadKeyring(current, config.masterKeyPrevious ?? []);
        const newRing = await loadKeyring(next);
        const counts = new Map<string, { resealed: number; unreadable: number }>();
        for (const value of await listContactSealedValues(db)) {
          const c = counts.get(value.kind) ?? { resealed: 0, unreadable: 0 };
          counts.set(value.kind, c);
          let plain: string;
          try {
            plain = openContact([...newRing.all, ...oldRing.all], value.sealed);
          } catch {
            c.unreadable++;
            continue;
          }
          await updateContactSealedValue(db, value, sealContact(newRing.current, plain));
          c.resealed++;
        }
        const coordinators = await rotateCoordinatorSecrets(db, [...newRing.all, ...oldRing.all], newRing);
        const macs = await remac(db, [...newRing.all, ...oldRing.all], newRing.current);
        const pending = await countConversationsNotUnder(db, newRing.current.fingerprint);
        process.stdout.write(
          `${[
            `new master key fingerprint: ${newRing.current.fingerprint}`,
            ...(['submitter contacts', 'second-factor secrets', 'Teams links'] as const).map((kind) => {
              const c = counts.get(kind) ?? { resealed: 0, unreadable: 0 };
              return `${kind} re-sealed: ${c.resealed}${c.unreadable ? ` (${c.unreadable} unreadable, left as they are)` : ''}`;
            }),
            `coordinator secrets re-sealed: ${coordinators.resealed}${coordinators.unreadable ? ` (${coordinators.unreadable} unreadable, left as they are: those accounts cannot log in)` : ''}`,
            `membership, key and legacy-reply MACs rewritten: ${macs.rewritten}${macs.failing ? ` (${macs.failing} failing the check, left as they are: they stay untrusted)` : ''}`,
            `conversations still under an older key: ${pending} (they move on their next message or expire)`,
            'next: restart with INTAKE_MASTER_KEY=<new> INTAKE_MASTER_KEY_PREVIOUS=<old>',
          ].join('\n')}\n`,
        );
      });
    });
}

/**
 * Rewrites, under the new master key, every membership, coordinator-keys and legacy-reply MAC that verifies
 * under a key of the old or new keyring. One that fails is left failing: rotation must not launder a row
 * added behind the service's back.
 */
async function remac(
  db: Database,
  ring: Parameters<typeof verifyInboxMemberMac>[0],
  next: Parameters<typeof inboxMemberMac>[0],
): Promise<{ rewritten: number; failing: number }> {
  let rewritten = 0;
  let failing = 0;
  await db.transaction(async (tx) => {
    for (const m of await allMemberships(tx)) {
      const fields = { inboxId: m.inbox_id, coordinatorId: m.coordinator_id, publicKey: m.public_key };
      if (!verifyInboxMemberMac(ring, fields, m.mac)) {
        failing++;
        continue;
      }
      await setMembershipMac(tx, m.inbox_id, m.coordinator_id, inboxMemberMac(next, fields));
      rewritten++;
    }
    for (const c of await allCoordinatorKeys(tx)) {
      const fields = { coordinatorId: c.id, publicKey: c.public_key, signingPublicKey: c.signing_public_key };
      if (!verifyCoordinatorKeysMac(ring, fields, c.keys_mac)) {
        failing++;
        continue;
      }
      await setCoordinatorKeysMac(tx, c.id, coordinatorKeysMac(next, fields));
      rewritten++;
    }
    for (const r of await allLegacyReplies(tx)) {
      const fields = { replyId: r.id, reportId: r.report_id, sealed: r.sealed };
      if (!verifyLegacyReplyMac(ring, fields, r.legacy_mac)) {
        failing++;
        continue;
      }
      await setLegacyReplyMac(tx, r.id, legacyReplyMac(next, fields));
      rewritten++;
    }
  });
  return { rewritten, failing };
}
