/**
 * What a stronger Argon2id would cost (issue 14): libsodium's INTERACTIVE (2 passes, 64 MiB, what
 * deriveLoginKeys uses) against MODERATE (3 passes, 256 MiB), in Node (the CLI) and in headless Chromium
 * (the inbox UI derives the keys in the browser), with the same libsodium-wrappers-sumo build.
 * Run: `node --import tsx bench/argon2.ts` (CHROMIUM_PATH, default /usr/bin/chromium; RUNS, default 5).
 * Figures and the choice are in docs/CRYPTO.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import sodium from 'libsodium-wrappers-sumo';
import { chromium } from 'playwright-core';

const RUNS = Number(process.env.RUNS ?? 5);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const require = createRequire(import.meta.url);

type Limits = Record<string, [ops: number, mem: number]>;

type Figures = Record<string, { median: number; min: number; max: number }>;

// Plain JavaScript text, run as is in Node and in the page (a compiled function's toString would carry
// the compiler's helpers, unknown to the page).
const MEASURE = `async (lib, limits, runs) => {
  const salt = new Uint8Array(16);
  const pw = new TextEncoder().encode('correct horse battery staple');
  const out = {};
  for (const [name, [ops, mem]] of Object.entries(limits)) {
    lib.crypto_pwhash(32, pw, salt, ops, mem, lib.crypto_pwhash_ALG_ARGON2ID13);
    const times = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      lib.crypto_pwhash(32, pw, salt, ops, mem, lib.crypto_pwhash_ALG_ARGON2ID13);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    out[name] = {
      median: Math.round(times[Math.floor(times.length / 2)]),
      min: Math.round(times[0]),
      max: Math.round(times[times.length - 1]),
    };
  }
  return out;
}`;

function measure(lib: unknown, limits: Limits, runs: number): Promise<Figures> {
  return new Function(`return (${MEASURE})`)()(lib, limits, runs);
}

await sodium.ready;
const limits: Limits = {
  INTERACTIVE: [sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE, sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE],
  MODERATE: [sodium.crypto_pwhash_OPSLIMIT_MODERATE, sodium.crypto_pwhash_MEMLIMIT_MODERATE],
};
console.log(`node ${process.version}:`, JSON.stringify(await measure(sodium, limits, RUNS)));

if (!existsSync(CHROMIUM)) {
  console.log(`chromium: not found at ${CHROMIUM}, skipped`);
} else {
  // Package exports hide the files: resolve the packages' CommonJS entries instead.
  const sumoFile = require.resolve('libsodium-sumo');
  const wrappersFile = require.resolve('libsodium-wrappers-sumo');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    // tsx compiles the evaluate callback with esbuild's keep-names helper; give the page a no-op one.
    await page.addInitScript('globalThis.__name = (f) => f');
    await page.goto('about:blank');
    const version = browser.version();
    const result = await page.evaluate(
      async ([sumoSrc, wrappersSrc, limitsArg, runs, measureSrc]) => {
        // The CommonJS builds, loaded by hand: the page has no bundler.
        const load = (src: string, req: (name: string) => unknown) => {
          const module = { exports: {} as unknown };
          new Function('module', 'exports', 'require', src)(module, module.exports, req);
          return module.exports;
        };
        const sumo = load(sumoSrc, () => ({}));
        const lib = load(wrappersSrc, () => sumo) as { ready: Promise<void> };
        await lib.ready;
        return new Function(`return (${measureSrc})`)()(lib, limitsArg, runs);
      },
      [readFileSync(sumoFile, 'utf8'), readFileSync(wrappersFile, 'utf8'), limits, RUNS, MEASURE] as const,
    );
    console.log(`chromium ${version}:`, JSON.stringify(result));
  } finally {
    await browser.close();
  }
}
