/**
 * `intake chat <flow>`: the terminal simulator. Runs the real engine, storage and submission path (a report
 * sealed to the inbox's coordinators), reading one answer per line from stdin, so piped input works:
 * `printf '1\n2\n' | npx intake chat youth`.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { pino } from 'pino';
import type { Capabilities, Lang, Reply, Turn } from '../engine/index.js';
import { createIntake } from '../intake/index.js';
import { loggerOptions } from '../logger.js';
import { resolveMasterKey } from '../secrets.js';
import { CliError, withDatabase } from './context.js';

const CAPABILITIES: Capabilities = { buttons: false, deleteMessages: false };

const RECEIPT_LABELS = {
  fr: { reference: 'Référence', receipt: 'Code secret (reçu)' },
  en: { reference: 'Reference', receipt: 'Secret code (receipt)' },
};

/** Renders replies as plain text; choices are numbered by the engine when there are no buttons. */
export function renderReplies(replies: Reply[], lang: Lang = 'fr'): string {
  const out: string[] = [];
  for (const r of replies) {
    switch (r.type) {
      case 'text':
        out.push(r.text);
        break;
      case 'choices':
        out.push(r.text);
        break;
      case 'emergency':
        out.push(
          [
            `!! ${r.title}`,
            ...r.lines.map((l) => `   ${l.number}  ${l.label}`),
            ...(r.text ? [r.text] : []),
          ].join('\n'),
        );
        break;
      case 'summary':
        out.push([r.title, ...r.items.map((i) => `   - ${i.label} : ${i.value}`)].join('\n'));
        break;
      case 'receipt': {
        const l = RECEIPT_LABELS[lang];
        const lines = [r.text, '', `${l.reference} : ${r.reference}`];
        if (r.receipt) lines.push(`${l.receipt} : ${r.receipt}`);
        out.push(lines.join('\n'));
        break;
      }
    }
  }
  return out.map((block) => `bot> ${block.replace(/\n/g, '\n     ')}`).join('\n');
}

export function registerChatCommand(program: Command) {
  program
    .command('chat')
    .description('Talk to a flow in the terminal, through the real engine, storage and sealing.')
    .argument('<flow>', 'flow id or alias (e.g. youth, pro)')
    .option('--lang <lang>', 'fr or en', 'fr')
    .addHelpText(
      'after',
      "\nOne answer per line; numbers pick choices. Commands work as in the apps (/aide, /effacer, ...).\nExample: printf '1\\n2\\n' | npx intake chat youth --lang en",
    )
    .action(async (flowArg: string, opts: { lang: string }) => {
      if (opts.lang !== 'fr' && opts.lang !== 'en') throw new CliError('--lang must be fr or en', 2);
      await withDatabase(async (db, config) => {
        const logger = pino(
          loggerOptions(config.logLevel === 'info' ? 'warn' : config.logLevel),
          pino.destination(2),
        );
        const { key } = resolveMasterKey(config);
        const { service, flows } = await createIntake({ config, db, masterKey: key, logger });
        const flow = flows.byAlias(flowArg);
        if (!flow) {
          throw new CliError(
            `unknown flow "${flowArg}" (known: ${flows
              .list()
              .map((f) => f.id)
              .join(', ')})`,
            2,
          );
        }
        const user = `cli-${randomUUID()}`;
        const send = async (turn: Turn) => {
          const outcome = await service.handleTurn({ channel: 'cli', platformUserId: user, turn });
          process.stdout.write(`${renderReplies(outcome.replies, outcome.lang)}\n`);
          return outcome.status;
        };
        let status = await send({
          kind: 'start',
          now: Date.now(),
          payload: flow.id,
          locale: opts.lang,
          capabilities: CAPABILITIES,
        });
        const rl = createInterface({ input: process.stdin, terminal: false });
        for await (const line of rl) {
          if (status === 'completed' || status === 'erased' || status === 'stopped') break;
          process.stdout.write(`you> ${line}\n`);
          status = await send({
            kind: 'text',
            now: Date.now(),
            text: line,
            locale: opts.lang,
            capabilities: CAPABILITIES,
          });
        }
        rl.close();
        if (status !== 'completed' && status !== 'erased' && status !== 'stopped') {
          process.stdout.write('(end of input: the conversation is kept for 24 h, /effacer forgets it)\n');
        }
      });
    });
}
