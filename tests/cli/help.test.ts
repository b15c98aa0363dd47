import type { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { buildProgram, run } from '../../src/cli/index.js';

function leaves(cmd: Command, path: string[] = []): string[][] {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  if (subs.length === 0) return [path];
  return subs.flatMap((c) => leaves(c, [...path, c.name()]));
}

describe('every intake command has --help', () => {
  const commands = leaves(buildProgram());

  it('covers the public contract', () => {
    const names = commands.map((c) => c.join(' '));
    for (const required of [
      'keygen',
      'migrate',
      'coordinator add',
      'coordinator invite',
      'flows check',
      'flows diagram',
      'chat',
      'reports list',
      'reports show',
      'purge',
      'audit verify',
    ]) {
      expect(names).toContain(required);
    }
  });

  it.each(commands.map((c) => [c.join(' ')]))('%s --help prints usage and exits 0', async (name) => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      expect(await run([...name.split(' '), '--help'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(out.join('')).toContain(`Usage: intake ${name}`);
  });
});
