// Counts the statements a service process sends through pg, by their first 90 characters, and writes them to
// bench/profiles/statements-<pid>.json when the process exits. Analysis only (issue 16):
//   BENCH_NODE_ARGS="--require ./bench/count-statements.cjs" BENCH_ONLY=compare npm run bench
const { createRequire } = require('node:module');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const pg = createRequire(join(process.cwd(), 'package.json'))('pg');
const counts = new Map();
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(config, values, callback) {
  const text = typeof config === 'string' ? config : config?.text;
  if (typeof text === 'string') {
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 90);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return query.call(this, config, values, callback);
};
process.on('exit', () => {
  const dir = join(process.cwd(), 'bench', 'profiles');
  mkdirSync(dir, { recursive: true });
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  writeFileSync(join(dir, `statements-${process.pid}.json`), JSON.stringify(sorted, null, 1));
});
