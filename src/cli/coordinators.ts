/** `intake coordinator add | invite | passwd | grant` and `intake reports list | show`. */
import type { Command } from 'commander';
import {
  CoordinatorError,
  changePassphrase,
  createCoordinator,
  createInvitation,
  grantAccess,
  INVITATION_TTL_HOURS,
  invitationUrl,
  listReports,
  showReport,
  unlock,
} from '../coordinators/index.js';
import { CryptoError } from '../crypto/index.js';
import { CliError, withKeyring } from './context.js';
import { readSecret } from './prompt.js';

const PASSPHRASE_HELP =
  '\nThe passphrase is read from INTAKE_PASSPHRASE or asked on the terminal (never from the command line).' +
  "\nNeeds the master key (INTAKE_MASTER_KEY, or the development key file): coordinators' login-key hashes" +
  ' and wrapped keys are stored sealed with it.';

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CoordinatorError) throw new CliError(err.message, 1);
    // Crypto error messages name the operation and never carry keys or plaintext.
    if (err instanceof CryptoError) throw new CliError(`decryption failed: ${err.message}`, 1);
    throw err;
  }
}

/** Prints an opened report in a readable layout. */
function printReport(r: Awaited<ReturnType<typeof showReport>>) {
  const lines = [
    `${r.reference}  ${r.kind}  urgency: ${r.urgency}  status: ${r.status}`,
    `inbox: ${r.inbox}  channel: ${r.channel}  received: ${r.receivedAt}`,
  ];
  const answers = (r.payload.answers ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(answers))
    lines.push(`  ${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  for (const f of r.followUps) {
    lines.push(`message from the person, ${f.at}: ${f.text ?? '(not sealed to you: ask a member to grant)'}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerCoordinatorCommands(program: Command) {
  const coordinator = program.command('coordinator').description('Coordinator accounts and their keys.');

  coordinator
    .command('add')
    .description(
      'Create a coordinator: a key pair, wrapped with a key derived from the passphrase (Argon2id); needs the master key (membership is MACed with it).',
    )
    .requiredOption('--name <name>', 'display name, shown to colleagues and in the audit trail')
    .requiredOption('--login <login>', 'login (a-z, 0-9, . _ -)')
    .requiredOption('--inbox <inbox>', 'inbox the coordinator joins (see config/default.yaml)')
    .option('--admin', 'give the administrator role')
    .addHelpText('after', PASSPHRASE_HELP)
    .action(async (opts: { name: string; login: string; inbox: string; admin?: boolean }) => {
      const passphrase = await readSecret('INTAKE_PASSPHRASE', 'Passphrase: ', true);
      await withKeyring((db, keyring, config) =>
        guarded(async () => {
          await createCoordinator(
            db,
            keyring,
            {
              name: opts.name,
              login: opts.login,
              inbox: opts.inbox,
              passphrase,
              role: opts.admin ? 'admin' : 'coordinator',
            },
            config.inboxes.map((i) => i.id),
          );
          process.stdout.write(`coordinator ${opts.login} created in inbox ${opts.inbox}\n`);
        }),
      );
    });

  coordinator
    .command('invite')
    .description(
      `Invite a coordinator: prints a one-time link, valid ${INVITATION_TTL_HOURS} h, where the invitee chooses a passphrase and their browser makes the key pair (nothing secret is typed here).`,
    )
    .requiredOption('--name <name>', 'display name, shown to colleagues and in the audit trail')
    .requiredOption('--login <login>', 'login the account will have (a-z, 0-9, . _ -)')
    .requiredOption('--inbox <inbox>', 'inbox the coordinator joins (see config/default.yaml)')
    .option('--admin', 'give the administrator role')
    .addHelpText(
      'after',
      '\nThe link is PUBLIC_URL (or http://localhost:PORT) + /inbox/#/invite/<token>. Hand it over by a channel' +
        '\nyou trust: whoever opens it first becomes this account. It works once; the token is stored only as a' +
        '\nkeyed hash. Once the account exists, a member grants it the earlier reports (coordinator grant, or the' +
        '\nadmin screen). Needs the master key (INTAKE_MASTER_KEY, or the development key file).',
    )
    .action(async (opts: { name: string; login: string; inbox: string; admin?: boolean }) => {
      await withKeyring((db, keyring, config) =>
        guarded(async () => {
          const inv = await createInvitation(
            db,
            keyring,
            {
              name: opts.name,
              login: opts.login,
              inbox: opts.inbox,
              role: opts.admin ? 'admin' : 'coordinator',
              createdBy: null,
            },
            config.inboxes.map((i) => i.id),
          );
          const base = config.publicUrl ?? `http://localhost:${process.env.PORT || 3000}`;
          process.stdout.write(
            `invitation for ${opts.login} (inbox ${opts.inbox}), valid until ${inv.expiresAt.toISOString()}:\n` +
              `${invitationUrl(base, inv.token)}\n`,
          );
        }),
      );
    });

  coordinator
    .command('passwd')
    .description('Change a passphrase: re-wraps the private key (reports stay readable).')
    .requiredOption('--login <login>', 'your login')
    .addHelpText('after', `${PASSPHRASE_HELP}\nThe new one comes from INTAKE_NEW_PASSPHRASE or the terminal.`)
    .action(async (opts: { login: string }) => {
      const current = await readSecret('INTAKE_PASSPHRASE', 'Current passphrase: ');
      const next = await readSecret('INTAKE_NEW_PASSPHRASE', 'New passphrase: ', true);
      await withKeyring((db, keyring) =>
        guarded(async () => {
          const me = await unlock(db, keyring, opts.login, current);
          await changePassphrase(db, keyring, me, next);
          process.stdout.write(`passphrase of ${opts.login} changed\n`);
        }),
      );
    });

  coordinator
    .command('grant')
    .description("Give a colleague access to an inbox: re-seals every report's key to them, on this machine.")
    .requiredOption('--login <login>', 'your login (a member of the inbox)')
    .requiredOption('--to <login>', 'the colleague to grant')
    .requiredOption('--inbox <inbox>', 'the inbox')
    .addHelpText('after', PASSPHRASE_HELP)
    .action(async (opts: { login: string; to: string; inbox: string }) => {
      const passphrase = await readSecret('INTAKE_PASSPHRASE', 'Passphrase: ');
      await withKeyring((db, keyring) =>
        guarded(async () => {
          const me = await unlock(db, keyring, opts.login, passphrase);
          const r = await grantAccess(db, me, opts.to, opts.inbox, keyring);
          process.stdout.write(
            `${opts.to} can now read inbox ${opts.inbox}: ${r.resealed} report(s) re-sealed${r.messages ? ` and ${r.messages} message(s) from the people who wrote back` : ''}${r.skipped ? `, ${r.skipped} you cannot open yourself` : ''}\n`,
          );
        }),
      );
    });

  const reports = program.command('reports').description('Read reports, decrypted on this machine.');

  reports
    .command('list')
    .description('List the reports of your inboxes, newest first (decrypted locally).')
    .requiredOption('--login <login>', 'your login')
    .option('--inbox <inbox>', 'only this inbox')
    .option('--status <status>', 'only this status (e.g. nouveau)')
    .option('--json', 'print JSON (decrypted answers included)')
    .addHelpText('after', PASSPHRASE_HELP)
    .action(async (opts: { login: string; inbox?: string; status?: string; json?: boolean }) => {
      const passphrase = await readSecret('INTAKE_PASSPHRASE', 'Passphrase: ');
      await withKeyring((db, keyring) =>
        guarded(async () => {
          const me = await unlock(db, keyring, opts.login, passphrase);
          const list = await listReports(db, me, {
            ...(opts.inbox ? { inbox: opts.inbox } : {}),
            ...(opts.status ? { status: opts.status } : {}),
          });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
            return;
          }
          if (list.length === 0) process.stdout.write('no reports\n');
          for (const r of list) {
            process.stdout.write(
              `${r.reference}  ${r.receivedAt.slice(0, 16).replace('T', ' ')}  ${r.kind.padEnd(12)} ${r.urgency.padEnd(9)} ${r.status}${r.payload ? '' : '  (not sealed to you)'}\n`,
            );
          }
        }),
      );
    });

  reports
    .command('show')
    .description('Show one report, decrypted locally.')
    .argument('<reference>', 'the case reference, e.g. R-7KQ2MX')
    .requiredOption('--login <login>', 'your login')
    .option('--json', 'print JSON (the decrypted answers as an object)')
    .addHelpText('after', PASSPHRASE_HELP)
    .action(async (reference: string, opts: { login: string; json?: boolean }) => {
      const passphrase = await readSecret('INTAKE_PASSPHRASE', 'Passphrase: ');
      await withKeyring((db, keyring) =>
        guarded(async () => {
          const me = await unlock(db, keyring, opts.login, passphrase);
          let r: Awaited<ReturnType<typeof showReport>>;
          try {
            r = await showReport(db, me, reference);
          } catch (err) {
            if (err instanceof CoordinatorError) throw err;
            // A ciphertext or key that does not open: tampered row or wrong key. Never print details.
            throw new CoordinatorError(
              `report ${reference} could not be decrypted (altered data or wrong key)`,
            );
          }
          if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          else printReport(r);
        }),
      );
    });
}
