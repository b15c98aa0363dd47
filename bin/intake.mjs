#!/usr/bin/env node
// Entry point of the `intake` CLI. In a checkout (src/ present) it runs the TypeScript sources through tsx,
// so `npx intake` always matches the code; the Docker image has only the compiled dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/index.ts', import.meta.url);
let mod;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(source.href);
} else {
  mod = await import(new URL('../dist/cli/index.js', import.meta.url).href);
}
process.exitCode = await mod.run(process.argv.slice(2));
