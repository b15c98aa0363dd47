/** `intake keys rotate-master`: move what the master key protects to a new master key, without downtime. */
import type { Command } from 'commander';
import { openContact, sealContact } from '../crypto/index.js';
import { loadKeyring } from '../intake/index.js';
import { resolveMasterKey } from '../secrets.js';
import { countConversationsNotUnder, listSealedContacts, updateSealedContact } from '../store/index.js';
import { CliError, withDatabase } from './context.js';

export function registerKeysCommands(program: Command) {
  const keys = program.command('keys').description('Master key management.');
  keys
    .command('rotate-master')
    .description('Re-seal opted-in contacts under a new master key and report what moves lazily.')
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
        let resealed = 0;
        let unreadable = 0;
        for (const row of await listSealedContacts(db)) {
          let address: string;
          try {
            address = openContact([...newRing.all, ...oldRing.all], row.contact_sealed);
          } catch {
            unreadable++;
            continue;
          }
          await updateSealedContact(db, row.id, sealContact(newRing.current, address));
          resealed++;
        }
        const pending = await countConversationsNotUnder(db, newRing.current.fingerprint);
        process.stdout.write(
          [
            `new master key fingerprint: ${newRing.current.fingerprint}`,
            `contacts re-sealed: ${resealed}${unreadable ? ` (${unreadable} unreadable, left as they are)` : ''}`,
            `conversations still under an older key: ${pending} (they move on their next message or expire)`,
            'next: restart with INTAKE_MASTER_KEY=<new> INTAKE_MASTER_KEY_PREVIOUS=<old>',
          ].join('\n') + '\n',
        );
      });
    });
}
