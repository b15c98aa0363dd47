/**
 * The peer for the load benchmark (issue 16): what someone would deploy instead of the service, written the
 * usual way with the most used Telegram framework. A grammY bot behind Fastify
 * (`webhookCallback(bot, 'fastify', { secretToken })`), sessions in PostgreSQL with @grammyjs/storage-psql
 * (its own table `peer_sessions`, plaintext JSON, read and written back on every update: 2 statements a
 * turn), the youth flow's questions (flows/youth.yaml, French texts) as inline keyboards, a re-prompt when
 * text comes instead of a button, the answers stored in `peer_reports` on submit. No encryption, no
 * deduplication of redelivered updates, no lock across instances, no outbox. Bench only (dev dependencies).
 *
 * Run (bench/load.ts starts it): DATABASE_URL=... TELEGRAM_API_ROOT=... TELEGRAM_BOT_TOKEN=...
 * TELEGRAM_WEBHOOK_SECRET=... PORT=... node --import tsx bench/peer-grammy.ts
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { PsqlAdapter } from '@grammyjs/storage-psql';
import Fastify from 'fastify';
import { Bot, type Context, InlineKeyboard, type SessionFlavor, session, webhookCallback } from 'grammy';
import pg from 'pg';
import { parse } from 'yaml';

const env = process.env;
const need = (name: string) => {
  const v = env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

// --- The flow: the service's youth flow file, read the simple way (French texts, options, next rules) ---

type Text = { fr: string };
type Option = { id: string; label: Text };
type Condition = { answer?: string; equals?: unknown; answered?: string; and?: Condition[] };
type Next = string | { if?: Condition; goto: string }[];
type FlowStep = { id: string; type: string; text?: Text; options?: Option[]; next?: Next };
const flow = parse(readFileSync(new URL('../flows/youth.yaml', import.meta.url), 'utf8')) as {
  start: string;
  steps: FlowStep[];
};
const steps = new Map(flow.steps.map((s) => [s.id, s]));
const step = (id: string) => {
  const s = steps.get(id);
  if (!s) throw new Error(`peer: no step ${id}`);
  return s;
};

type Answers = Record<string, string | string[] | boolean>;
interface Session {
  at?: string;
  answers: Answers;
  /** Options ticked so far on a multi-choice step. */
  picked: string[];
}
type Ctx = Context & SessionFlavor<Session>;

const holds = (c: Condition, a: Answers): boolean =>
  (c.and ? c.and.every((x) => holds(x, a)) : true) &&
  (c.answer !== undefined ? a[c.answer] === c.equals : true) &&
  (c.answered !== undefined ? a[c.answered] !== undefined : true);

const nextOf = (s: FlowStep, a: Answers): string | undefined =>
  typeof s.next === 'string' ? s.next : s.next?.find((r) => !r.if || holds(r.if, a))?.goto;

const YES_NO: Option[] = [
  { id: 'yes', label: { fr: 'Oui' } },
  { id: 'no', label: { fr: 'Non' } },
];

function keyboard(s: FlowStep, picked: string[] = []): InlineKeyboard | undefined {
  const kb = new InlineKeyboard();
  if (s.type === 'choice' || s.type === 'yes_no') {
    for (const o of s.type === 'yes_no' ? YES_NO : (s.options ?? []))
      kb.text(o.label.fr, `s:${s.id}:${o.id}`).row();
  } else if (s.type === 'multi_choice') {
    for (const o of s.options ?? [])
      kb.text(`${picked.includes(o.id) ? '✓ ' : ''}${o.label.fr}`, `s:${s.id}:${o.id}`).row();
    kb.text('Terminé', `s:${s.id}:$done`);
  } else if (s.type === 'summary') {
    kb.text('Envoyer', `s:${s.id}:$confirm`);
  } else if (s.type === 'text') {
    kb.text('Passer', `s:${s.id}:$skip`);
  } else return undefined;
  return kb;
}

function summary(s: FlowStep, a: Answers): string {
  const lines = Object.entries(a).map(([id, v]) => {
    const labels = steps.get(id)?.options ?? [];
    const label = (o: string) => labels.find((x) => x.id === o)?.label.fr ?? o;
    return `• ${id} : ${Array.isArray(v) ? v.map(label).join(', ') : typeof v === 'string' ? label(v) : v ? 'oui' : 'non'}`;
  });
  return `${s.text?.fr ?? ''}\n\n${lines.join('\n')}`;
}

/** Shows a question (with its keyboard), after `before` in the same message when given. */
async function ask(ctx: Ctx, s: FlowStep, before?: string) {
  const text = s.type === 'summary' ? summary(s, ctx.session.answers) : (s.text?.fr ?? '');
  const kb = keyboard(s, ctx.session.picked);
  await ctx.reply(before ? `${before}\n\n${text}` : text, kb ? { reply_markup: kb } : {});
}

/** Enters `id`: sends messages, stores the report on submit, stops at the next question. */
async function enter(ctx: Ctx, id: string | undefined) {
  const pool = ctx.pool;
  while (id) {
    const s = step(id);
    const a = ctx.session.answers;
    if (s.type === 'message' || s.type === 'end') {
      await ctx.reply(s.text?.fr ?? '');
      if (s.type === 'end') {
        ctx.session = { answers: {}, picked: [] };
        return;
      }
    } else if (s.type === 'submit') {
      const reference = `R-${randomInt(36 ** 6)
        .toString(36)
        .toUpperCase()
        .padStart(6, '0')}`;
      await pool.query('INSERT INTO peer_reports (reference, answers) VALUES ($1, $2)', [reference, a]);
      await ctx.reply(`Message envoyé, merci. Ton code secret : <code>${reference}</code>`, {
        parse_mode: 'HTML',
      });
    } else {
      ctx.session.at = s.id;
      ctx.session.picked = [];
      await ask(ctx, s);
      return;
    }
    id = nextOf(s, a);
  }
}

// --- The bot ---------------------------------------------------------------------------------------------

const pgPool = new pg.Pool({ connectionString: need('DATABASE_URL'), max: 10 });
await pgPool.query(
  'CREATE TABLE IF NOT EXISTS peer_reports (id bigserial PRIMARY KEY, reference text NOT NULL, answers jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
);
declare module 'grammy' {
  interface Context {
    pool: pg.Pool;
  }
}

const bot = new Bot<Ctx>(need('TELEGRAM_BOT_TOKEN'), {
  client: {
    apiRoot: need('TELEGRAM_API_ROOT'),
    // grammY's node build calls the Bot API through node-fetch; its default agent for an http root is
    // already keep-alive. Set it explicitly, as the service does for telegraf.
    baseFetchConfig: { agent: new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000 }) },
  },
});
bot.use((ctx, next) => {
  ctx.pool = pgPool;
  return next();
});
bot.use(
  session({
    initial: (): Session => ({ answers: {}, picked: [] }),
    // The adapter types its client as pg.Client; a pg.Pool has the same query() and lets 10 turns run at
    // once, like the service's pool (one Client would serialise every statement).
    storage: await PsqlAdapter.create({
      tableName: 'peer_sessions',
      client: pgPool as unknown as pg.Client,
    }),
  }),
);

bot.command('start', async (ctx) => {
  ctx.session = { answers: {}, picked: [] };
  await enter(ctx, flow.start);
});

bot.on('callback_query:data', async (ctx) => {
  const [, stepId, optionId] = ctx.callbackQuery.data.split(':');
  const sess = ctx.session;
  const messageId = ctx.callbackQuery.message?.message_id;
  if (!stepId || !optionId || stepId !== sess.at) {
    await ctx.answerCallbackQuery({ text: 'Ce bouton ne marche plus.' });
    return;
  }
  const s = step(stepId);
  await ctx.answerCallbackQuery();
  if (s.type === 'multi_choice' && optionId !== '$done') {
    sess.picked = sess.picked.includes(optionId)
      ? sess.picked.filter((o) => o !== optionId)
      : [...sess.picked, optionId];
    await ctx.editMessageReplyMarkup({ reply_markup: keyboard(s, sess.picked) });
    return;
  }
  if (s.type === 'multi_choice') sess.answers[s.id] = sess.picked;
  else if (s.type === 'yes_no') sess.answers[s.id] = optionId === 'yes';
  else if (s.type === 'choice') sess.answers[s.id] = optionId;
  // Close the answered keyboard, then the next question.
  if (messageId !== undefined) await ctx.editMessageReplyMarkup({ reply_markup: undefined });
  await enter(ctx, nextOf(s, sess.answers));
});

bot.on('message:text', async (ctx) => {
  const sess = ctx.session;
  if (!sess.at) {
    await ctx.reply('Écris /start pour commencer.');
    return;
  }
  const s = step(sess.at);
  if (s.type === 'text') {
    sess.answers[s.id] = ctx.message.text.slice(0, 2000);
    await enter(ctx, nextOf(s, sess.answers));
    return;
  }
  // Text where a button was expected: say so and show the question again, in one message (as ours does).
  await ask(ctx, s, "Je n'ai pas compris. Choisis une des réponses proposées.");
});

bot.catch((err) => {
  process.stderr.write(`peer: ${err.message}\n`);
});
await bot.init();

const app = Fastify({ logger: { level: env.LOG_LEVEL || 'info' } });
app.post(
  '/telegram/webhook',
  webhookCallback(bot, 'fastify', { secretToken: need('TELEGRAM_WEBHOOK_SECRET') }),
);
app.get('/readyz', async () => ({ status: 'ok' }));
await app.listen({ port: Number(env.PORT ?? 3200), host: '127.0.0.1' });
const stop = () => {
  app.close().then(() => pgPool.end());
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
