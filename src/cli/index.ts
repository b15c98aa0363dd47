/**
 * The `intake` command line. Each command group lives in its own module and registers itself here.
 * Exit codes: 0 ok, 1 failure, 2 usage error. Secrets are never read from argv: passphrases come from a
 * prompt or INTAKE_PASSPHRASE.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/index.js';
import { registerAuditCommands } from './audit.js';
import { registerChatCommand } from './chat.js';
import { CliError } from './context.js';
import { registerCoordinatorCommands } from './coordinators.js';
import { registerFlowsCommands } from './flows.js';
import { registerKeysCommands } from './keys.js';
import { registerPurgeCommand } from './purge.js';
import { registerSystemCommands } from './system.js';
import { registerTeamsCommands } from './teams.js';
import { registerTelegramCommands } from './telegram.js';

/** Builds the program (tests call it with their own output streams). */
export function buildProgram(): Command {
  const program = new Command('intake')
    .description('Secure referral intake: service administration, flows, coordinators and reports.')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Database: PostgreSQL at DATABASE_URL, else the embedded one in INTAKE_DATA_DIR (default ./data). Commands
can run next to the service, in any order: while the service runs, they use its database (through a socket
in the data directory); otherwise a command opens it for its run. See docs/OPERATIONS.md.`,
    )
    .exitOverride()
    .configureHelp({ sortSubcommands: true });
  registerSystemCommands(program);
  registerFlowsCommands(program);
  registerChatCommand(program);
  registerCoordinatorCommands(program);
  registerKeysCommands(program);
  registerPurgeCommand(program);
  registerAuditCommands(program);
  registerTelegramCommands(program);
  registerTeamsCommands(program);
  // exitOverride is inherited by commands created after it is set on the parent only when copied:
  // apply it to every (sub)command so usage errors exit 2 everywhere.
  const applyOverride = (cmd: Command) => {
    cmd.exitOverride();
    for (const sub of cmd.commands) applyOverride(sub);
  };
  applyOverride(program);
  return program;
}

/** Runs the CLI and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return 0;
      return 2;
    }
    if (err instanceof CliError || err instanceof ConfigError) {
      process.stderr.write(`intake: ${err.message}\n`);
      return err instanceof CliError ? err.exitCode : 1;
    }
    process.stderr.write(`intake: failed (${(err as Error)?.name ?? 'error'})\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly) {
  run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
