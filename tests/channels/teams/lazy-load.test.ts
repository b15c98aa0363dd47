/**
 * botbuilder (about 0.5 s of start and 30 MB) is loaded on the first Teams request, not at start: a process
 * that serves only Telegram never pays for it. Checked in a child process, whose module cache is fresh.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('loads botbuilder on the first Teams message, not at start, and the message is answered', () => {
  const script = fileURLToPath(new URL('./fixtures/lazy-load.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NODE_ENV: 'test' },
  });
  expect(r.status, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  expect(result).toMatchObject({ atReady: false, afterMessage: true, status: 200 });
  expect(result.sent).toBeGreaterThan(0);
}, 70_000);
