// Fuzzing the files operators write: flow files (random YAML, and the shipped flows mutated: lines
// dropped, duplicated, values replaced, truncated) and config files (default.yaml mutated, random
// local.yaml, random environment values). The checker answers diagnostics with a file and a line, the
// config loader a ConfigError naming the file; nothing else ever escapes. 2,800 cases.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { checkFlow } from '../../src/flows/index.js';
import { FlowError, parseFlowText } from '../../src/flows/load.js';
import { CONFIG_DIR, ROOT_DIR } from '../../src/paths.js';
import { fuzzSeed } from './support.js';

const youth = readFileSync(join(ROOT_DIR, 'flows', 'youth.yaml'), 'utf8').split('\n');
const professional = readFileSync(join(ROOT_DIR, 'flows', 'professional.yaml'), 'utf8').split('\n');
const defaults = readFileSync(join(CONFIG_DIR, 'default.yaml'), 'utf8').split('\n');

const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    'null',
    '~',
    'true',
    '[]',
    '{}',
    '-1',
    '0',
    '1e999',
    '"',
    "'",
    '&a',
    '*a',
    '!!binary x',
    '<<: *a',
    ': :',
    '- -',
  ),
  fc.integer().map(String),
);

/** A mutation of `lines`: drop, duplicate, replace the value after a colon, insert junk, truncate. */
function mutated(lines: string[]): fc.Arbitrary<string> {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('dup' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('value' as const), at: fc.nat(), v: scalar }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), v: scalar, indent: fc.nat({ max: 8 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => {
    let out = [...lines];
    for (const o of ops) {
      const i = out.length === 0 ? 0 : o.at % out.length;
      if (o.kind === 'drop') out.splice(i, 1);
      else if (o.kind === 'dup') out.splice(i, 0, out[i] ?? '');
      else if (o.kind === 'value') {
        const line = out[i] ?? '';
        const c = line.indexOf(':');
        out[i] = c >= 0 ? `${line.slice(0, c + 1)} ${o.v}` : `${line} ${o.v}`;
      } else if (o.kind === 'insert') out.splice(i, 0, `${' '.repeat(o.indent)}${o.v}`);
      else out = out.slice(0, i);
    }
    return out.join('\n');
  });
}

describe('fuzz: flow files', () => {
  it('1,400 generated or mutated flows: diagnostics with a line, or a valid flow; nothing else thrown', () => {
    let invalid = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 4, arbitrary: mutated(youth) },
          { weight: 3, arbitrary: mutated(professional) },
          { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
        ),
        (text) => {
          let diagnostics: ReturnType<typeof checkFlow>;
          try {
            diagnostics = checkFlow(parseFlowText(text, 'youth.yaml'), { fileName: 'youth.yaml' });
          } catch (err) {
            if (err instanceof FlowError) diagnostics = err.diagnostics;
            else throw err;
          }
          for (const d of diagnostics) {
            expect(typeof d.message).toBe('string');
            expect(d.message.length).toBeGreaterThan(0);
            expect(Number.isInteger(d.line) && d.line >= 1).toBe(true);
          }
          if (diagnostics.length > 0) invalid += 1;
        },
      ),
      { numRuns: 1400, seed: fuzzSeed },
    );
    // The mutations do break flows (the property is not vacuous).
    expect(invalid).toBeGreaterThan(300);
  });
});

describe('fuzz: config files and environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'intake-fuzz-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('1,400 generated configurations: a ConfigError naming the file or the setting, nothing else', () => {
    let refused = 0;
    const envValue = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('', '0', '-1', '65536', '3000', 'x'),
    );
    fc.assert(
      fc.property(
        mutated(defaults),
        fc.option(fc.oneof(mutated(defaults), fc.string({ maxLength: 200 })), { nil: undefined }),
        fc.record(
          {
            PORT: envValue,
            NODE_ENV: envValue,
            LOG_LEVEL: envValue,
            INTAKE_MASTER_KEY: envValue,
            DATABASE_URL: envValue,
          },
          { requiredKeys: [] },
        ),
        (base, local, env) => {
          writeFileSync(join(dir, 'default.yaml'), base);
          rmSync(join(dir, 'local.yaml'), { force: true });
          if (local !== undefined) writeFileSync(join(dir, 'local.yaml'), local);
          try {
            loadConfig({ dir, env: env as NodeJS.ProcessEnv });
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            expect(err.message).toMatch(/default\.yaml|local\.yaml|environment|[A-Z_]{3,}/);
            refused += 1;
          }
        },
      ),
      { numRuns: 1400, seed: fuzzSeed },
    );
    expect(refused).toBeGreaterThan(200);
  });
});
