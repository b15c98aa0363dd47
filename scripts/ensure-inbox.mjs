// Builds the coordinator inbox UI (dist-inbox/) when it is missing or older than its sources, so that
// `npm install && npm start` serves /inbox/ with no other step. Skips quietly where Vite is not installed
// (the production image ships a prebuilt dist-inbox/).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const built = join(root, 'dist-inbox', 'index.html');
const sources = [join(root, 'web', 'inbox'), join(root, 'src', 'crypto')];

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (!existsSync(join(root, 'web', 'inbox')) || !existsSync(join(root, 'node_modules', 'vite')))
  process.exit(0);
const stale = !existsSync(built) || sources.some((d) => existsSync(d) && newest(d) > statSync(built).mtimeMs);
if (stale) {
  process.stdout.write('building the inbox UI (dist-inbox/)...\n');
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'web/inbox/vite.config.ts',
      '--logLevel',
      'warn',
    ],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  process.exit(r.status ?? 1);
}
