/** `intake flows check` and `intake flows diagram`: static checks and Mermaid diagrams of flow files. */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { Lang } from '../engine/types.js';
import {
  checkFile,
  displayPath,
  FlowError,
  flowDiagram,
  flowFiles,
  formatDiagnostic,
  loadFlowFile,
  readFlowFile,
} from '../flows/index.js';
import { FLOWS_DIR } from '../paths.js';

/** Where the commands write (tests pass their own). */
export interface FlowsCliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Folder of the flow files (default: the project's `flows/`). */
  dir?: string;
}

const defaultIo: FlowsCliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Adds `flows check` and `flows diagram` to the program. Failures set `process.exitCode` to 1. */
export function registerFlowsCommands(program: Command, io: FlowsCliIo = defaultIo): Command {
  const flows = program.command('flows').description('Check flow files and draw them as diagrams.');

  flows
    .command('check')
    .description(
      'Check flow files: schema, unknown or unreachable steps, dead ends, cycles without exit, missing translations, duplicate ids and conditions on unknown steps.',
    )
    .argument('[files...]', 'flow files to check (default: every flows/*.yaml and flows/archive/*.yaml)')
    .addHelpText(
      'after',
      '\nPrints one line per problem, as "file:line step <id>: message", and one "OK" line per good file.\nExits with 1 when any file has an error.\nExample: npx intake flows check flows/youth.yaml',
    )
    .action((files: string[]) => {
      const targets = files.length > 0 ? files : flowFiles(io.dir ?? FLOWS_DIR);
      if (targets.length === 0) {
        io.err('no flow file found\n');
        process.exitCode = 1;
        return;
      }
      let failed = false;
      for (const file of targets) {
        const diagnostics = checkFile(file);
        for (const d of diagnostics) io.out(`${formatDiagnostic(d)}\n`);
        const errors = diagnostics.filter((d) => d.severity === 'error').length;
        if (errors > 0) {
          failed = true;
          io.err(`${displayPath(file)}: ${errors} ${errors === 1 ? 'error' : 'errors'}\n`);
        } else {
          const flow = readFlowFile(file).value as { id: string; version: number; steps: unknown[] };
          io.out(`${displayPath(file)}: OK (flow ${flow.id} v${flow.version}, ${flow.steps.length} steps)\n`);
        }
      }
      if (failed) process.exitCode = 1;
    });

  flows
    .command('diagram')
    .description(
      'Print a Mermaid flowchart of a flow (paste it into a Mermaid viewer, or a Markdown ```mermaid block).',
    )
    .argument('<flow>', 'a flow id (its newest version in flows/) or the path of a flow file')
    .option('--lang <lang>', "language of the labels (fr or en; default: the flow's first language)")
    .addHelpText(
      'after',
      '\nExamples:\n  npx intake flows diagram youth\n  npx intake flows diagram flows/archive/youth.v2.yaml --lang en',
    )
    .action((target: string, opts: { lang?: string }) => {
      if (opts.lang !== undefined && opts.lang !== 'fr' && opts.lang !== 'en') {
        io.err(`--lang must be fr or en\n`);
        process.exitCode = 1;
        return;
      }
      try {
        const isPath = /\.ya?ml$/.test(target) || target.includes('/') || existsSync(target);
        let flow: ReturnType<typeof loadFlowFile> | undefined;
        if (isPath) flow = loadFlowFile(target);
        else {
          const file = flowFiles(io.dir ?? FLOWS_DIR).find((f) => basename(f) === `${target}.yaml`);
          flow = file ? loadFlowFile(file) : undefined;
        }
        if (!flow) {
          io.err(`unknown flow "${target}" (give a flow id such as youth, or a file path)\n`);
          process.exitCode = 1;
          return;
        }
        io.out(flowDiagram(flow, opts.lang ? { lang: opts.lang as Lang } : {}));
      } catch (err) {
        if (!(err instanceof FlowError)) throw err;
        io.err(`${err.message}\n`);
        process.exitCode = 1;
      }
    });
  return flows;
}
