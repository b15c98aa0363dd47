/** Runs the real `intake` entry point (bin/intake.mjs) as a child process, as `npx intake` does. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT_DIR } from '../../src/paths.js';

export function intake(args: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, [join(ROOT_DIR, 'bin/intake.mjs'), ...args], {
    cwd: ROOT_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...env },
    encoding: 'utf8',
    input,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
