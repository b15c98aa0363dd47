// Builds what `npm start` runs when it is missing or older than its sources, so that `npm install && npm
// start` works with no other step and starts fast (compiled JavaScript, no on-the-fly TypeScript):
// - the service: dist/ from src/ (tsc -p tsconfig.build.json, then scripts/copy-assets.mjs);
// - the coordinator inbox UI: dist-inbox/ from web/inbox/ and src/crypto/ (vite);
// - the web flow: dist-chat/ from web/chat/, src/engine/, src/crypto/ and the routing (vite).
// Each part is skipped quietly where its sources or its build tool are not there (the production image
// installs without dev dependencies and ships both builds; the Dockerfile's first `npm ci` runs before the
// sources are copied). Run by postinstall and prestart.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const has = (...parts) => existsSync(join(root, ...parts));

function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let t = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) t = Math.max(t, newest(join(path, e.name)));
  return t;
}

function stale(output, sources) {
  if (!existsSync(output)) return true;
  const built = statSync(output).mtimeMs;
  return sources.some((s) => newest(join(root, s)) > built);
}

function run(label, args) {
  process.stdout.write(`building ${label}...\n`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (has('src', 'server.ts') && has('node_modules', 'typescript')) {
  const entry = join(root, 'dist', 'server.js');
  if (stale(entry, ['src', 'tsconfig.json', 'tsconfig.build.json'])) {
    run('the service (dist/)', [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.build.json',
    ]);
    run('the service assets (dist/)', [join(root, 'scripts', 'copy-assets.mjs')]);
  }
}

if (has('web', 'inbox') && has('node_modules', 'vite')) {
  const entry = join(root, 'dist-inbox', 'index.html');
  if (stale(entry, ['web/inbox', 'src/crypto'])) {
    run('the inbox UI (dist-inbox/)', [
      join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'web/inbox/vite.config.ts',
      '--logLevel',
      'warn',
    ]);
  }
}

if (has('web', 'chat') && has('node_modules', 'vite')) {
  const entry = join(root, 'dist-chat', 'index.html');
  if (stale(entry, ['web/chat', 'src/crypto', 'src/engine', 'src/intake/routing.ts'])) {
    run('the web flow (dist-chat/)', [
      join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'web/chat/vite.config.ts',
      '--logLevel',
      'warn',
    ]);
  }
}
