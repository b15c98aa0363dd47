import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerFlowsCommands } from '../../src/cli/flows.js';
import { FIXTURES } from '../engine/helpers.js';

async function run(args: string[], dir?: string): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const program = new Command('intake').exitOverride().configureOutput({
    writeOut: (s) => {
      out += s;
    },
    writeErr: (s) => {
      err += s;
    },
  });
  registerFlowsCommands(program, { out: (s) => (out += s), err: (s) => (err += s), ...(dir ? { dir } : {}) });
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'intake', ...args]);
  } catch (e) {
    // commander's exitOverride throws for --help; its output is captured above.
    if (!(e instanceof Error && 'code' in e)) throw e;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

afterEach(() => {
  process.exitCode = 0;
});

describe('intake flows check', () => {
  it('prints one OK line per good file and exits 0', async () => {
    const r = await run(['flows', 'check', `${FIXTURES}complete.yaml`, `${FIXTURES}youth-mini.yaml`]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /complete\.yaml: OK \(flow complete v2, 12 steps\)\n.*youth-mini\.yaml: OK \(flow youth-mini v1, 5 steps\)\n$/,
    );
  });
  it('prints file:line step <id>: message for each problem and exits 1', async () => {
    const r = await run(['flows', 'check', `${FIXTURES}check/unreachable.yaml`, `${FIXTURES}complete.yaml`]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'check/unreachable.yaml:13 step orphan: step is unreachable from the start step "a"\n',
    );
    expect(r.out).toContain('complete.yaml: OK');
    expect(r.err).toContain('unreachable.yaml: 1 error');
  });
  it('checks every flow of the folder by default', async () => {
    const r = await run(['flows', 'check'], `${FIXTURES}registry`);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(3);
  });
  it('has a helpful --help', async () => {
    const r = await run(['flows', 'check', '--help']);
    expect(r.out).toContain('unreachable steps, dead ends');
    expect(r.out).toContain('file:line step <id>: message');
  });
});

describe('intake flows diagram', () => {
  it('prints Mermaid for a flow id', async () => {
    const r = await run(['flows', 'diagram', 'youth-mini'], `${FIXTURES}registry`);
    expect(r.code).toBe(0);
    expect(r.out.startsWith('flowchart TD\n')).toBe(true);
    expect(r.out).toContain('s_story[/"story: Raconte-nous."/]');
  });
  it('prints Mermaid for a path, in English on request', async () => {
    const r = await run(['flows', 'diagram', `${FIXTURES}youth-mini.yaml`, '--lang', 'en']);
    expect(r.out).toContain('s_story[/"story: Tell us."/]');
  });
  it('fails with exit code 1 on an unknown flow or a broken file', async () => {
    expect(await run(['flows', 'diagram', 'nope'], `${FIXTURES}registry`)).toMatchObject({
      code: 1,
      err: 'unknown flow "nope" (give a flow id such as youth, or a file path)\n',
    });
    const broken = await run(['flows', 'diagram', `${FIXTURES}check/cycle.yaml`]);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('cycle with no exit');
  });
  it('has a helpful --help', async () => {
    const r = await run(['flows', 'diagram', '--help']);
    expect(r.out).toContain('Mermaid flowchart');
    expect(r.out).toContain('flow id');
  });
});
