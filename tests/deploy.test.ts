import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** The node flags of a command line that runs dist/server.js (`node [--flags] dist/server.js`). */
function flagsOf(argv: string[]): string[] {
  expect(argv[0]).toBe('node');
  expect(argv.at(-1)).toBe('dist/server.js');
  const flags = argv.slice(1, -1);
  for (const f of flags) expect(f).toMatch(/^--/);
  return flags;
}

const startScript = (): string => JSON.parse(readFileSync('package.json', 'utf8')).scripts.start;

/** The exec form of the Dockerfile's last CMD. */
function dockerCmd(): string[] {
  const cmds = readFileSync('Dockerfile', 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('CMD '));
  expect(cmds.length).toBeGreaterThan(0);
  return JSON.parse(cmds.at(-1)!.slice('CMD '.length)) as string[];
}

describe('how the service is started', () => {
  it('npm start and the Docker image run dist/server.js with the same node flags', () => {
    const npm = flagsOf(startScript().trim().split(/\s+/));
    expect(flagsOf(dockerCmd())).toEqual(npm);
  });

  it("sizes the young generation explicitly (node's default shrinks to 1 MiB in a 512 MiB container)", () => {
    const flags = flagsOf(startScript().trim().split(/\s+/));
    const semi = flags.find((f) => f.startsWith('--max-semi-space-size='));
    const mibs = Number(semi?.split('=')[1]);
    expect(mibs).toBeGreaterThanOrEqual(16);
    // This node accepts the flags, and the semi-space they set counts in the heap's limit: node adds 3 x the
    // semi-space (nodejs/node#42575), 93 MiB between 32 and 1 on Node 20 and 24.
    const limit = (args: string[]) => {
      const r = spawnSync(
        process.execPath,
        [...args, '-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      return Number(r.stdout);
    };
    const mib = 1024 * 1024;
    const withFlags = limit(flags);
    const withOne = limit([...flags.filter((f) => f !== semi), '--max-semi-space-size=1']);
    expect((withFlags - withOne) / mib).toBeGreaterThanOrEqual(3 * (mibs - 1));
  });

  it("turns V8's memory reducer off, with flags this node takes", () => {
    const flags = flagsOf(startScript().trim().split(/\s+/));
    expect(flags).toContain('--no-memory-reducer');
    // An unknown V8 flag makes node exit 9 ("bad option") before running anything.
    const r = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write("ran")'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('ran');
  });
});
