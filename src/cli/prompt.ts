/**
 * Reading secrets for the CLI: from an environment variable (scripts, CI) or a hidden prompt on the
 * terminal. Never from argv, where they would land in shell history and the process list.
 */
import { CliError } from './context.js';

/** Reads one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(question);
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new CliError('cancelled', 1));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/**
 * A secret from `envName`, else from a hidden prompt (asked twice when `confirm`). Without a terminal and
 * without the variable, fails with a message saying how to provide it.
 */
export async function readSecret(envName: string, question: string, confirm = false): Promise<string> {
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CliError(
      `${envName} is not set and there is no terminal to ask: set ${envName} or run interactively`,
    );
  }
  const first = await promptHidden(question);
  if (confirm) {
    const second = await promptHidden('Confirm: ');
    if (first !== second) throw new CliError('the two entries differ', 1);
  }
  return first;
}
