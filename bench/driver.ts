/**
 * Simulated Telegram users for the load benchmark and the resilience tests: each runs the youth flow to a
 * sealed report through `POST /telegram/webhook` over real HTTP (keep-alive), pressing the buttons the bot
 * really sent (read from the lean fake Bot API). Also latency statistics and process RSS from /proc.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { LeanFakeBotApi } from './fake-telegram.js';

export const BENCH_SECRET = 'bench-only-webhook-secret-0123456789abcdefXYZ';

export type Step = { say: string } | { press: string };

/** The youth walk to a sealed report (as tests/support/walks.ts), one step per update: 15 turns. */
export function youthSteps(n: number): Step[] {
  return [
    { say: '/start jeune' },
    { press: 'unsafe' },
    { press: 'continue' },
    { press: 'me' },
    { press: 'age_15_16' },
    { press: 'exchange' },
    { press: 'partner' },
    { press: '$done' },
    { say: `Il a 22 ans, il dit que je lui dois de l'argent (${n}).` },
    { press: 'talk' },
    { press: 'shelter' },
    { press: '$done' },
    { press: 'phone' },
    { say: `06 00 00 ${String(n % 100).padStart(2, '0')} 00, le soir` },
    { press: '$confirm' },
  ];
}

/**
 * Typed text where a button is expected, 15 turns: `/start jeune`, then 14 free texts at the first question
 * (a choice), each answered by a re-prompt (the question again with its buttons). 15 updates a user stay
 * under the service's flood limit (30 per 10 s) at any rate this machine reaches.
 */
export function textSteps(n: number): Step[] {
  return [
    { say: '/start jeune' },
    ...Array.from({ length: 14 }, (_, i) => ({ say: `bonjour, je sais pas trop (${n} ${i})` })),
  ];
}

/** A walk: the steps one simulated user sends. */
export type Walk = (userId: number) => Step[];

let updateId = 1_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
export const nextUpdateId = () => ++updateId;

/** A keep-alive HTTP poster. */
export class Poster {
  readonly agent: http.Agent;
  constructor(maxSockets = 256) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 30_000 });
  }

  post(
    base: string,
    path: string,
    body: string,
    headers: Record<string, string> = {},
    timeoutMs = 30_000,
  ): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
    const url = new URL(path, base);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...headers,
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }

  close() {
    this.agent.destroy();
  }
}

/** One simulated Telegram user in a private chat. */
export class SimUser {
  step = 0;
  readonly steps: Step[];
  constructor(
    readonly id: number,
    readonly fake: LeanFakeBotApi | undefined,
    steps?: Step[],
  ) {
    this.steps = steps ?? youthSteps(id);
  }

  get done() {
    return this.step >= this.steps.length;
  }

  private from() {
    return { id: this.id, is_bot: false, first_name: 'Bench', username: 'bench_user', language_code: 'fr' };
  }

  private chat() {
    return { id: this.id, type: 'private', first_name: 'Bench' };
  }

  text(text: string) {
    const message_id = this.fake ? this.fake.userMessage(this.id) : this.step + 1;
    return {
      update_id: nextUpdateId(),
      message: {
        message_id,
        date: Math.floor(Date.now() / 1000),
        chat: this.chat(),
        from: this.from(),
        text,
        // Telegram marks a leading command as an entity (grammY's bot.command() matches on it).
        ...(text.startsWith('/')
          ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] }
          : {}),
      },
    };
  }

  /** A press of the live button for `option` (a synthetic one without a fake, for the bare reference). */
  press(option: string) {
    const b = this.fake?.chat(this.id).buttons.get(option);
    if (this.fake && !b) throw new Error(`user ${this.id}: no button for ${option} at step ${this.step}`);
    const data = b?.data ?? `s:step${this.step}:${option}`;
    const messageId = b?.messageId ?? this.step;
    return {
      update_id: nextUpdateId(),
      callback_query: {
        id: `cq${nextUpdateId()}`,
        from: this.from(),
        chat_instance: 'ci-bench',
        data,
        message: { message_id: messageId, date: Math.floor(Date.now() / 1000), chat: this.chat(), text: '…' },
      },
    };
  }

  /** The next update (not yet sent). */
  nextUpdate(): unknown {
    const s = this.steps[this.step]!;
    return 'say' in s ? this.text(s.say) : this.press(s.press);
  }

  get reference(): string | undefined {
    return this.fake?.chat(this.id).reference;
  }
}

/** Posts one update to the Telegram webhook. */
export function postUpdate(poster: Poster, base: string, update: unknown, secret = BENCH_SECRET) {
  return poster.post(base, '/telegram/webhook', JSON.stringify(update), {
    'x-telegram-bot-api-secret-token': secret,
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(latencies: number[]): LatencySummary {
  const s = [...latencies].sort((a, b) => a - b);
  return {
    count: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? Number.NaN,
  };
}

/** Current and peak resident set size of a process, in MB (Linux /proc). */
export function rssOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

export interface RunResult {
  seconds: number;
  turns: number;
  errors: number;
  reports: number;
  latency: LatencySummary;
  /** Latency by step of the walk (0: the first update of a user), when asked for (`byStep`). */
  steps?: LatencySummary[];
  /** Every turn's latency in ms, in the order they ended (closed loop), to pool several measures. */
  samples?: number[];
}

/**
 * Closed loop: `concurrency` users at a time, each running its steps back to back; a finished user is
 * replaced by a new one until `seconds` have passed (the users in progress then finish their current turn).
 */
export async function closedLoop(opts: {
  poster: Poster;
  base: string;
  fake?: LeanFakeBotApi;
  concurrency: number;
  seconds: number;
  newUserId: () => number;
  /** Expect a report at the end (our service); the reference has none. */
  expectReports: boolean;
  /** The steps of each user (default: the youth walk to a sealed report). */
  walk?: Walk;
  /** Also summarise latency by step of the walk. */
  byStep?: boolean;
}): Promise<RunResult> {
  const latencies: number[] = [];
  const stepLatencies: number[][] = [];
  let errors = 0;
  let reports = 0;
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  const lane = async () => {
    while (performance.now() < deadline) {
      const id = opts.newUserId();
      const u = new SimUser(id, opts.fake, opts.walk?.(id));
      while (!u.done && performance.now() < deadline) {
        let update: unknown;
        try {
          update = u.nextUpdate();
        } catch {
          errors += 1;
          break;
        }
        const t0 = performance.now();
        try {
          const r = await postUpdate(opts.poster, opts.base, update);
          latencies.push(performance.now() - t0);
          if (opts.byStep) {
            stepLatencies[u.step] ??= [];
            stepLatencies[u.step]!.push(performance.now() - t0);
          }
          if (r.status !== 200) {
            errors += 1;
            break;
          }
        } catch {
          errors += 1;
          break;
        }
        u.step += 1;
      }
      if (u.done && opts.expectReports) {
        if (u.reference) reports += 1;
        else errors += 1;
      }
      opts.fake?.drop(u.id);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  const seconds = (performance.now() - start) / 1000;
  return {
    seconds,
    turns: latencies.length,
    errors,
    reports,
    latency: summarize(latencies),
    ...(opts.byStep ? { steps: stepLatencies.map((l) => summarize(l ?? [])) } : {}),
    samples: latencies,
  };
}

/**
 * Open loop at a fixed rate: every 1/rate s the next turn of an idle user is sent (new users start as
 * needed, up to `maxUsers` in progress); latency from send to answer.
 */
export async function fixedRate(opts: {
  poster: Poster;
  base: string;
  fake?: LeanFakeBotApi;
  rate: number;
  seconds: number;
  newUserId: () => number;
  maxUsers?: number;
}): Promise<RunResult & { lateStarts: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let reports = 0;
  let lateStarts = 0;
  const idle: SimUser[] = [];
  let inProgress = 0;
  const maxUsers = opts.maxUsers ?? 2000;
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const total = Math.round(opts.rate * opts.seconds);
  let sent = 0;
  const fire = (u: SimUser) => {
    const update = u.nextUpdate();
    const t0 = performance.now();
    const p = postUpdate(opts.poster, opts.base, update)
      .then((r) => {
        latencies.push(performance.now() - t0);
        if (r.status !== 200) throw new Error(String(r.status));
        u.step += 1;
        if (u.done) {
          inProgress -= 1;
          if (u.reference) reports += 1;
          else errors += 1;
          opts.fake?.drop(u.id);
        } else idle.push(u);
      })
      .catch(() => {
        errors += 1;
        inProgress -= 1;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * opts.rate));
    while (sent < due) {
      let u = idle.shift();
      if (!u) {
        if (inProgress >= maxUsers) {
          lateStarts += 1;
          break;
        }
        u = new SimUser(opts.newUserId(), opts.fake);
        inProgress += 1;
      }
      fire(u);
      sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - start) / 1000;
  return { seconds, turns: latencies.length, errors, reports, lateStarts, latency: summarize(latencies) };
}
