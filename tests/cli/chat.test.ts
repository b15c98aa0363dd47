// `intake chat` with piped input reaches the submit step of both flows, in both languages, through the real
// storage and sealing; `intake reports show` then opens the report with the coordinator's passphrase.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { intake } from '../support/cli.js';

const PASS = 'correct horse battery staple';
let env: Record<string, string>;

beforeAll(() => {
  env = { INTAKE_DATA_DIR: mkdtempSync(join(tmpdir(), 'intake-chat-')), INTAKE_PASSPHRASE: PASS };
  const r = intake(
    ['coordinator', 'add', '--name', 'Camille Coord', '--login', 'camille', '--inbox', 'coordination'],
    env,
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

// Typed answers only (numbers pick choices), as a person at a terminal would.
const SCRIPTS = {
  youth: ['1', '1', '3', '2, 4', 'Il me demande de voir des gens que je ne connais pas.', '1', '1', '2', '1'],
  professional: [
    '2',
    '1',
    'Collège Jean-Jaurès, Saint-Denis',
    '/passer',
    '/passer',
    '4',
    '1',
    'Saint-Denis',
    '1, 10',
    'Absences répétées, un homme plus âgé l’attend à la sortie.',
    // Date, places, source, authors, whereabouts, followed, done, parents, the young person knows, expectations.
    ...Array.from({ length: 10 }, () => '/passer'),
    '1',
  ],
};

describe('intake chat', () => {
  for (const flow of ['youth', 'professional'] as const) {
    for (const lang of ['fr', 'en'] as const) {
      it(`${flow} (${lang}) ends with a reference and a receipt the coordinator can open`, () => {
        const r = intake(['chat', flow, '--lang', lang], env, `${SCRIPTS[flow].join('\n')}\n`);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const reference = r.stdout.match(/(?:Référence|Reference) : (R-[2-9A-Z]{6})/)?.[1];
        expect(reference, r.stdout.slice(-1500)).toBeDefined();
        expect(r.stdout).toMatch(
          /(?:Code secret \(reçu\)|Secret code \(receipt\)) : [0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/,
        );
        const show = intake(['reports', 'show', reference!, '--login', 'camille', '--json'], env);
        expect(show.code).toBe(0);
        const opened = JSON.parse(show.stdout);
        expect(opened.kind).toBe(flow);
        expect(opened.payload.lang).toBe(lang);
        const free = flow === 'youth' ? 'Il me demande de voir des gens' : 'un homme plus âgé l’attend';
        expect(JSON.stringify(opened.payload.answers)).toContain(free);
      });
    }
  }

  it('refuses a wrong passphrase with a non-zero exit', () => {
    const r = intake(['reports', 'list', '--login', 'camille'], {
      ...env,
      INTAKE_PASSPHRASE: 'not the right passphrase',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('intake: wrong login or passphrase\n');
  });

  it('refuses an unknown flow as a usage error', () => {
    const r = intake(['chat', 'nope'], env, '');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown flow "nope"');
  });
});
