import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { intake } from '../support/cli.js';

describe('intake CLI', () => {
  it('prints a fresh 32-byte base64 key with keygen', () => {
    const a = intake(['keygen']);
    const b = intake(['keygen']);
    expect(a.code).toBe(0);
    expect(Buffer.from(a.stdout.trim(), 'base64').length).toBe(32);
    expect(a.stdout).not.toBe(b.stdout);
  });

  it('has --help on every command, exit 0', () => {
    for (const args of [['--help'], ['keygen', '--help'], ['migrate', '--help']]) {
      const r = intake(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: intake');
    }
  });

  it('exits 2 on usage errors', () => {
    expect(intake(['no-such-command']).code).toBe(2);
    expect(intake(['keygen', '--bogus']).code).toBe(2);
  });

  it('migrates the embedded database, then says it is up to date', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-cli-'));
    const first = intake(['migrate'], { INTAKE_DATA_DIR: dataDir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('applied 0001 foundation');
    const second = intake(['migrate', '--status'], { INTAKE_DATA_DIR: dataDir });
    expect(second.stdout.trim()).toBe('up to date (embedded)');
  });

  it('exits 1 with one line for an invalid configuration', () => {
    const r = intake(['migrate'], { PORT: 'x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('intake: environment PORT: must be an integer between 0 and 65535\n');
  });
});
