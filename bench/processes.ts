/**
 * Child processes for the benchmark and the resilience tests: the service (`src/server.ts`, as `npm start`)
 * or the bare reference on a free port, waiting until `/readyz` answers 200.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  port: number;
  base: string;
  /** Last lines of stderr/stdout (for failure messages; the service logs no content). */
  output(): string;
  /** Milliseconds from spawn to ready. */
  readyMs: number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function waitReady(base: string, timeoutMs: number, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`process exited with ${proc.exitCode}`);
    try {
      const r = await fetch(new URL('/readyz', base), { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not ready after ${timeoutMs} ms`);
}

/**
 * Spawns `node [nodeArgs] --import tsx <script>` (a built `.js` script runs without tsx), or `command` (e.g.
 * `npm start`, in its own process group, stopped as a group), with `env` on a free port and waits for
 * readiness.
 */
export async function startChild(opts: {
  script: string;
  command?: string[];
  env: Record<string, string>;
  nodeArgs?: string[];
  port?: number;
  readyTimeoutMs?: number;
}): Promise<Child> {
  const port = opts.port ?? (await freePort());
  const started = performance.now();
  const [file, ...args] = opts.command ?? [
    process.execPath,
    ...(opts.nodeArgs ?? []),
    ...(opts.script.endsWith('.js') ? [] : ['--import', 'tsx']),
    opts.script,
  ];
  const group = opts.command !== undefined;
  const proc = spawn(file!, args, {
    cwd: ROOT,
    detached: group,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...opts.env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (c: Buffer) => {
    tail = (tail + c.toString('utf8')).slice(-4000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  if (process.env.BENCH_CHILD_LOGS) {
    // The whole output kept (written asynchronously: the driver shares this process's event loop).
    const file = createWriteStream(
      join(process.env.BENCH_CHILD_LOGS, `${opts.script.replace(/\W+/g, '_')}.${proc.pid}.log`),
    );
    proc.stdout?.pipe(file);
    proc.stderr?.on('data', (c: Buffer) => file.write(c));
  }
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base, opts.readyTimeoutMs ?? 30_000, proc);
  } catch (err) {
    if (group) process.kill(-proc.pid!, 'SIGKILL');
    else proc.kill('SIGKILL');
    throw new Error(`${opts.script} did not start: ${(err as Error).message}\n${tail}`);
  }
  const readyMs = performance.now() - started;
  return {
    proc,
    pid: proc.pid!,
    port,
    base,
    readyMs,
    output: () => tail,
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const kill = (s: NodeJS.Signals) => {
        try {
          if (group) process.kill(-proc.pid!, s);
          else proc.kill(s);
        } catch {
          // Already gone.
        }
      };
      kill(signal);
      const timer = setTimeout(() => kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
