/** Runs the service (`src/server.ts`, as `npm run dev`; `npm start` runs the same code compiled) as a child process. */
import { spawn } from 'node:child_process';
import { ROOT_DIR } from '../../src/paths.js';

export interface ServiceRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the service with a clean environment (only what `env` gives, plus PATH and HOME). */
export function startService(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr.on('data', (d) => {
    out.stderr += d;
  });
  const done = new Promise<ServiceRun>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, ...out })),
  );
  return { child, out, done };
}

/** Polls `predicate` every 50 ms until it holds; throws after `ms`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, ms: number, what = 'condition') {
  const until = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
