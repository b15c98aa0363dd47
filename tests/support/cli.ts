/** Runs the real `intake` entry point (bin/intake.mjs) as a child process, as `npx intake` does. */
import { spawn, spawnSync } from 'node:child_process';
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

/** Starts `intake` and gives its stdin to the test (for commands that wait for input). */
export function spawnIntake(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT_DIR, 'bin/intake.mjs'), ...args], {
    cwd: ROOT_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr.on('data', (d) => {
    out.stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ...out });
    }),
  );
  return { child, out, done };
}

/** The same, without blocking the test process: for commands run at the same time as others. */
export async function intakeAsync(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = spawnIntake(args, env);
  run.child.stdin.end(input ?? '');
  return run.done;
}
