/**
 * The intake service: runs one conversation turn end to end. Under a per-conversation lock it opens the
 * encrypted state, asks the engine what to do, carries out the effects (seal and route a report, follow-up,
 * erase), and stores the new state encrypted, all in one transaction: a turn either fully happens or not at
 * all (the platform then redelivers it). Nothing readable is written: the state is sealed with a key that
 * needs the raw platform id, and a report is sealed to the coordinators of its inbox before it is stored.
 */
import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/index.js';
import {
  decodeBytes,
  decoyReportId,
  hashUserId,
  openContact,
  openReply,
  openState,
  REPORT_ENVELOPE_VERSION,
  receiptKeyPair,
  receiptLookupHash,
  receiptLookupTag,
  receiptTagFromLookupHash,
  type SealedReport,
  sealContact,
  sealReport,
  sealState,
} from '../crypto/index.js';
import {
  type ConversationState,
  type Effect,
  type Flow,
  type FlowKind,
  type Lang,
  type Reply,
  registerOf,
  type Status,
  step,
  type Turn,
  type Urgency,
} from '../engine/index.js';
import type { FlowRegistry } from '../flows/index.js';
import type { Metrics } from '../metrics.js';
import {
  type AfterSend,
  type AfterSendRows,
  appendAudit,
  type ConversationWrite,
  confirmPendingReplies,
  type Database,
  DatabaseUnavailableError,
  deleteConversation,
  deletePendingRepliesOf,
  deleteTrail,
  findConversation,
  findReportById,
  findReportByReceiptTag,
  findReportByReference,
  followUpIdUsed,
  inboxRecipients,
  insertFollowUp,
  insertFollowUpDiscard,
  insertReport,
  listReplies,
  type NewReport,
  type PendingRow,
  type Queryable,
  readTurn,
  recordAfterSend,
  type SealedTo,
  sealedContactOf,
  sealedTo,
  type TurnRead,
  type TurnRow,
  takeTrail,
  updateReceiptTag,
  writeTurn,
} from '../store/index.js';
import { memberIsTrusted, replyIsAuthentic } from './integrity.js';
import type { Keyring } from './keyring.js';
import { type AttemptLimiter, localLimiter, type RedisEval, SharedWindowLimiter } from './limiter.js';
import { issueReceipt, reportPayload } from './report-payload.js';
import { route } from './routing.js';
import { FOLLOW_UP, type FollowUpRegister, formatDay } from './texts.js';
import { TurnCache } from './turn-cache.js';

/** Channel-owned data kept inside the encrypted state (e.g. message ids for quick exit). */
export type ChannelData = Record<string, unknown>;

/** How a channel folds a recorded change (`recordChannelData`) into its data. */
export type ChannelDataMerge = (previous: ChannelData | undefined, change: ChannelData) => ChannelData;

const shallowMerge: ChannelDataMerge = (previous, change) => ({ ...(previous ?? {}), ...change });

interface StoredConversation {
  s: ConversationState;
  c?: ChannelData;
}

/** One inbound event, as a channel translated it. */
export interface InboundTurn {
  /** Channel kind: 'telegram', 'teams', 'cli'. */
  channel: string;
  /** The raw platform user id: used to find and open the state, never stored. */
  platformUserId: string;
  turn: Turn;
  /** Updates the channel's data kept in the encrypted state (called once, inside the lock). */
  channelData?: (previous: ChannelData | undefined) => ChannelData | undefined;
  /**
   * The platform's event id (Telegram update_id, Teams activity id). Recorded, as a keyed hash, in the same
   * transaction as the turn: a redelivered event is not processed again (`duplicate: true`).
   */
  eventId?: string;
  /**
   * Where a contentless "you have a new reply" notice can reach this user on this channel (e.g. the
   * Telegram chat id). Stored only when the submitter opts in (the flow's `notify_if`), sealed.
   */
  notifyAddress?: string;
  /**
   * Keep this turn's replies (sealed) until the channel confirms it sent them (`recordChannelData` with the
   * event id): a redelivered event then gets them again instead of nothing. Needs `eventId`.
   */
  outbox?: boolean;
}

/** A chat message id as the platform gives it (Telegram: a number; Teams: a string). */
export type MessageId = string | number;

/** Sends a contentless notice to an opted-in submitter on one channel. */
export type SubmitterNotifier = (address: string, lang: Lang) => Promise<void>;

/** What the channel must show and do after a turn. */
export interface TurnOutcome {
  /** The event was already processed: nothing was done, nothing should be sent. */
  duplicate?: boolean;
  replies: Reply[];
  status: Status;
  /**
   * /effacer: the state is gone; the channel deletes the messages in `erasable` (taken out of the message
   * trail, so they are deleted once) and any ids an older version kept in `previousChannelData`.
   */
  erased: boolean;
  /** With `erased`: the ids of the chat messages recorded for this user on this channel, oldest first. */
  erasable?: MessageId[];
  previousChannelData?: ChannelData;
  /** Language the replies are in (channels use it for their own notices). */
  lang: Lang;
  submitted?: NewReportNotice;
  /**
   * A `start` turn began a new conversation on this flow (not a resumed one). Channels may add their own
   * offers to the welcome (Telegram: the Mini App button); the engine knows nothing of them.
   */
  started?: { flowId: string };
}

export interface IntakeServiceDeps {
  db: Database;
  keyring: Keyring;
  flows: FlowRegistry;
  config: AppConfig;
  logger: Logger;
  metrics?: Metrics;
  /** Shares the `/suivi` receipt limits between instances (REDIS_URL); in memory without it. */
  redis?: RedisEval;
  /** Overrides of the receipt limits (tests), and the Redis key prefix (default `intake-suivi:`). */
  receiptLimits?: ReceiptLimits;
}

/** The `/suivi` receipt limits: per user hash and for the whole service. */
export interface ReceiptLimits {
  perUser?: { max: number; windowMs: number };
  global?: { max: number; windowMs: number };
  redisPrefix?: string;
}

/** Event hashes kept between a turn and its work after sending (more than the turns in flight). */
const TURN_EVENT_HASHES = 1024;

/** Receipt attempts per user hash (5 per 15 minutes) and in total (120 per minute). */
const RECEIPT_PER_USER = { max: 5, windowMs: 15 * 60_000 };
const RECEIPT_GLOBAL = { max: 120, windowMs: 60_000 };

function receiptLimiters(deps: IntakeServiceDeps): { perUser: AttemptLimiter; global: AttemptLimiter } {
  const perUser = deps.receiptLimits?.perUser ?? RECEIPT_PER_USER;
  const global = deps.receiptLimits?.global ?? RECEIPT_GLOBAL;
  const redis = deps.redis;
  if (!redis) {
    return {
      perUser: localLimiter(perUser.max, perUser.windowMs),
      global: localLimiter(global.max, global.windowMs),
    };
  }
  const prefix = deps.receiptLimits?.redisPrefix ?? 'intake-suivi:';
  let warned = 0;
  const onError = (err: unknown) => {
    // One line a minute at most: Redis down must not flood the log.
    if (Date.now() - warned < 60_000) return;
    warned = Date.now();
    deps.logger.warn({ err }, 'redis unavailable for the /suivi limits: counting on this instance only');
  };
  return {
    perUser: new SharedWindowLimiter(redis, `${prefix}user:`, perUser.max, perUser.windowMs, onError),
    global: new SharedWindowLimiter(redis, `${prefix}global:`, global.max, global.windowMs, onError),
  };
}

/** What report listeners receive: queue metadata only. */
export interface NewReportNotice {
  reference: string;
  inbox: string;
  urgency: Urgency;
  kind: 'professional' | 'youth';
}

/** A member of an inbox a report may be sealed to: coordinator id and base64url X25519 public key. */
export interface InboxRecipient {
  coordinatorId: string;
  publicKey: string;
}

/** A report sealed in the browser, as the public API validated it. */
export interface BrowserSealedReport {
  /** UUID made by the page: the envelope's associated data. */
  id: string;
  reference: string;
  inbox: string;
  kind: FlowKind;
  urgency: Urgency;
  /** The tag of the recipients the page sealed to, as `GET .../recipients` gave it. */
  recipientsTag: string;
  envelope: SealedReport;
  /** The receipt's lookup hash (never the receipt), the salt and public key of its reply key pair. */
  receipt?: { lookupHash: string; salt: string; publicKey: string };
  now: number;
}

/** The outcome of {@link IntakeService.acceptSealedReport}. */
export type AcceptSealedResult =
  | { ok: true }
  | { ok: false; reason: 'no_recipient' | 'duplicate' | 'reference_taken' }
  | { ok: false; reason: 'stale_recipients'; recipients: InboxRecipient[]; recipientsTag: string };

/**
 * Where a follow-up to a receipt is sealed: the report's id (the envelope's associated data) and the current
 * trusted recipients of the inbox the report is in now. For a code that finds no report: a decoy (a keyed,
 * stable id and the keys of the inbox a youth report goes to by default), so that from outside an unknown
 * code answers like a known one.
 */
export interface FollowUpTarget {
  reportId: string;
  recipients: InboxRecipient[];
  recipientsTag: string;
}

/** A follow-up message sealed in the browser, as the public API validated it. */
export interface BrowserFollowUp {
  /** The receipt's lookup hash (never the receipt). */
  lookupHash: string;
  /** The report id the page sealed to, as the follow-up target gave it. */
  reportId: string;
  /** A fresh UUID made by the page: in the envelope's associated data; a replay is refused. */
  messageId: string;
  recipientsTag: string;
  envelope: SealedReport;
  now: number;
}

/** The outcome of {@link IntakeService.acceptFollowUp}: the same for a known and an unknown code. */
export type AcceptFollowUpResult =
  | { ok: true }
  | { ok: false; reason: 'no_recipient' | 'duplicate' }
  | { ok: false; reason: 'stale'; to: FollowUpTarget };

/**
 * A short tag of an inbox's recipients (ids and public keys): the page sends back the one it sealed to,
 * and a different one means a member or a key changed since (409, seal again).
 */
export function recipientsTag(recipients: readonly InboxRecipient[]): string {
  const sorted = [...recipients]
    .map((r) => `${r.coordinatorId}:${r.publicKey}`)
    .sort()
    .join('\n');
  return createHash('sha256').update(sorted, 'utf8').digest('base64url');
}

/** The shape of a public case reference. */
export const REFERENCE_PATTERN = '^R-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{6}$';

const REFERENCE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A short public case reference, e.g. `R-7KQ2MX` (not secret: 30^6 ≈ 7.3e8 values). */
export function newReference(): string {
  let s = 'R-';
  for (let i = 0; i < 6; i++) s += REFERENCE_ALPHABET[randomInt(REFERENCE_ALPHABET.length)];
  return s;
}

type SubmitEffect = Extract<Effect, { type: 'submit' }>;

/** Users whose keyed hashes are kept in memory (a few hundred bytes each). */
const HASH_CACHE_SIZE = 4096;

/** Batches of work after sending written at once, and the most turns in one batch. */
const AFTER_SEND_IN_FLIGHT = 1;
const AFTER_SEND_MAX_BATCH = 256;

/**
 * A conversation's expiry is moved only when it falls out of [idle timeout, idle timeout + slack] from now:
 * most turns then leave the indexed column as it is. An idle conversation is purged at most this much later.
 */
const EXPIRY_SLACK_MAX_MS = 30 * 60_000;

/** How many times a turn is run again when another write to its conversation came first. */
const MAX_TURN_ATTEMPTS = 8;

/**
 * Conversation rows kept as this instance last wrote them (sealed, as stored: `turn-cache.ts`), so that the
 * next turn of the same user is one statement; for about as many users as the key cache, at most 15 minutes.
 */
const TURN_CACHE_SIZE = 4096;
const TURN_CACHE_AGE_MS = 15 * 60_000;

/**
 * A new conversation row starts at a random version: a copy of a deleted row never matches its successor.
 * Versions start at 2^20 or above, and only such rows are kept: a row an earlier version of the service
 * inserted (at 1, counting up by one a turn) is never kept, so during a rolling upgrade its successor cannot
 * match a copy either.
 */
const KEPT_FROM_VERSION = 2 ** 20;

/** A turn's first attempt without a read, as if the user had no conversation row (`handleTurn`). */
const NO_ROW = Symbol('no row');

/** An attempt that wrote nothing because its report's recipients changed (`writeTurn`): seal it again. */
const RECIPIENTS_CHANGED = Symbol('recipients changed');
const newRowVersion = () => randomInt(KEPT_FROM_VERSION, 2 ** 47);

/**
 * A channel update as sealed after sending: the change alone, or (`v: SENT_BLOB`) the change with the ids of
 * the messages exchanged, when the same blob is also the trail batch.
 */
const SENT_BLOB = 2;
type SentBlob = ChannelData | { v: typeof SENT_BLOB; c: ChannelData; t: MessageId[] };

const isSentPair = (v: unknown): v is { v: 2; c: ChannelData; t: MessageId[] } =>
  typeof v === 'object' && v !== null && (v as { v?: unknown }).v === SENT_BLOB && 'c' in v && 't' in v;

/** The channel change of a sealed update. */
function sentChange(blob: unknown): ChannelData {
  return (isSentPair(blob) ? blob.c : blob) as ChannelData;
}

/** The message ids of a sealed update that is also a trail batch (else none). */
function sentIds(blob: unknown): unknown {
  if (!isSentPair(blob)) throw new Error('not a trail batch');
  return blob.t;
}

/** Thrown inside a turn's transaction to roll it back when its compare-and-set lost. */
class TurnConflict extends Error {
  override name = 'TurnConflict';
}

export class IntakeService {
  /**
   * Receipt attempts per user hash (5 per 15 minutes) and in total (120 per minute): per instance, or shared
   * by every instance through Redis when it is configured.
   */
  private readonly receiptLimits: { perUser: AttemptLimiter; global: AttemptLimiter };

  private readonly reportListeners: ((report: NewReportNotice) => unknown)[] = [];
  private readonly followUpListeners: ((report: NewReportNotice) => unknown)[] = [];
  private readonly notifiers = new Map<string, SubmitterNotifier>();
  private readonly mergers = new Map<string, ChannelDataMerge>();
  /** Work after sending waiting for its batch (`afterSend`). */
  private readonly afterSendQueue: {
    entry: AfterSend;
    resolve: () => void;
    reject: (err: unknown) => void;
  }[] = [];
  private afterSendFlushing = 0;
  private readonly hashCache = new Map<string, string[]>();
  /** Event hashes computed by turns, for their work after sending (`takeEventHash`). */
  private readonly turnEventHashes = new Map<string, string>();
  private afterSendScheduled = false;
  private readonly turnCache = new TurnCache(TURN_CACHE_SIZE, TURN_CACHE_AGE_MS);
  /**
   * The members of each inbox as a chat's report was last sealed to them (public keys and integrity MACs,
   * nothing secret), so that a submit needs no read first: its write stores the report only if the inbox
   * still has exactly those members (`writeTurn`), else the turn reads them and seals again.
   */
  private readonly recipientsKept = new Map<
    string,
    { keys: Keyring['all']; trusted: InboxRecipient[]; sealedTo: SealedTo }
  >();

  /** Registers how a channel's recorded changes fold into its data (default: a shallow merge). */
  registerChannelData(channel: string, merge: ChannelDataMerge): void {
    this.mergers.set(channel, merge);
  }

  /** Registers how a channel delivers the contentless reply notice to an opted-in submitter. */
  registerNotifier(channel: string, notifier: SubmitterNotifier): void {
    this.notifiers.set(channel, notifier);
  }

  /**
   * Tells an opted-in submitter, without any content, that a coordinator replied ("Tu as une nouvelle
   * réponse. Envoie /suivi et ton reçu."). Returns whether a notice was sent. Never throws.
   */
  async notifySubmitter(reportId: string): Promise<boolean> {
    const { db, keyring, logger } = this.deps;
    try {
      const sealed = await sealedContactOf(db, reportId);
      if (!sealed) return false;
      const contact = JSON.parse(openContact(keyring.all, sealed)) as {
        channel: string;
        address: string;
        lang: Lang;
      };
      const notifier = this.notifiers.get(contact.channel);
      if (!notifier) return false;
      await notifier(contact.address, contact.lang);
      return true;
    } catch (err) {
      logger.warn({ err }, 'reply notice to the submitter failed');
      return false;
    }
  }

  constructor(private readonly deps: IntakeServiceDeps) {
    this.receiptLimits = receiptLimiters(deps);
    // Copies unused for 15 minutes go even when no turn comes (the timer does not keep the process alive).
    setInterval(() => this.turnCache.sweep(), 60_000).unref();
  }

  /**
   * Subscribes to new reports (after commit). The notice holds only queue metadata: reference, inbox,
   * urgency, kind; never an answer.
   */
  /**
   * Called after a message sent with a person's code (a follow-up) is stored: queue metadata of its case
   * only. Not called for a discarded message (an unknown code).
   */
  onFollowUp(listener: (report: NewReportNotice) => unknown): void {
    this.followUpListeners.push(listener);
  }

  onReport(listener: (report: NewReportNotice) => unknown): void {
    this.reportListeners.push(listener);
  }

  /** The keyed hash under which this user's conversation is stored (current master key). */
  userHash(channel: string, platformUserId: string): string {
    return this.userHashes(channel, platformUserId)[0]!;
  }

  /**
   * The user's keyed hashes (current master key first). A turn needs them three times (flood limit, the turn,
   * the work after sending): the last users' are kept, so each is computed once a turn or less.
   */
  private userHashes(channel: string, platformUserId: string): string[] {
    const key = `${channel}\u0000${platformUserId}`;
    const known = this.hashCache.get(key);
    if (known) return known;
    const hashes = this.deps.keyring.all.map((k) => hashUserId(k, channel, platformUserId));
    if (this.hashCache.size >= HASH_CACHE_SIZE) {
      // Oldest first: a Map iterates in insertion order.
      const oldest = this.hashCache.keys().next().value;
      if (oldest !== undefined) this.hashCache.delete(oldest);
    }
    this.hashCache.set(key, hashes);
    return hashes;
  }

  private chooseFlow(
    state: ConversationState | null,
    turn: Turn,
  ): { flow: Flow; state: ConversationState | null } {
    const { flows } = this.deps;
    if (turn.kind === 'start' && turn.payload) {
      const chosen = flows.byAlias(turn.payload);
      const idleMs = this.deps.config.conversations.idleTimeoutMinutes * 60_000;
      const live = state !== null && turn.now - state.lastActiveAt <= idleMs;
      // A link or an old button for another flow never throws away a conversation in progress: the engine
      // resumes it (the user can /stop it first to start the other one).
      if (chosen && !live) return { flow: chosen, state: null };
    }
    if (state) {
      // The exact version it started on; else the newest, which the engine refuses kindly and restarts.
      const flow = flows.get(state.v[1], state.v[2]) ?? flows.latest(state.v[1]) ?? flows.default();
      return { flow, state };
    }
    return { flow: flows.default(), state: null };
  }

  /**
   * Runs one turn. Throws (and changes nothing) when the database fails: the caller answers 503.
   *
   * Two round trips when the turn has no effect that needs the database (most turns): `readTurn` (was the
   * event processed? the sealed state and its version), then the engine, then `writeTurn` (the new state with
   * a compare-and-set on the version, the event recorded as processed and the outbox entry, in one
   * statement). A turn whose effects read or write other tables (submit, /suivi, /effacer) runs them and the
   * same write in one transaction. When the version changed between the read and the write (another turn of
   * this conversation, on this instance or another, wrote first) nothing was written and the whole turn runs
   * again on the new state: the turns of a conversation are applied one after the other, each on the state
   * the previous one left, without a lock held across the turn.
   *
   * One round trip, no read, when this instance has the row as it last wrote it (the user's previous turn
   * was here), and for a /start of a user it does not know (the write inserts the row only if there is none);
   * a chat's submit seals to the inbox's members as last seen, checked by the write (`reportRecipients`).
   */
  async handleTurn(input: InboundTurn): Promise<TurnOutcome> {
    const { logger, metrics } = this.deps;
    const hashes = this.userHashes(input.channel, input.platformUserId);
    const eventHash =
      input.eventId === undefined ? undefined : this.eventHash(input.channel, input.eventId, true);
    let outcome: TurnOutcome | undefined;
    // The first attempt starts from the row as this instance last wrote it, when it has it (no read). A
    // /start of a user it does not know is most often a new conversation: no read either, and its write
    // inserts the row only if there is none (else nothing is written, and the turn reads the row).
    let kept: TurnRow | typeof NO_ROW | undefined =
      this.turnCache.take(hashes[0]!) ??
      (input.turn.kind === 'start' && hashes.length === 1 ? NO_ROW : undefined);
    let freshRecipients = false;
    for (let attempt = 1; ; ) {
      const fromCopy = kept;
      kept = undefined;
      const attempted = await this.attemptTurn(input, hashes, eventHash, fromCopy, freshRecipients);
      if (attempted === RECIPIENTS_CHANGED && !freshRecipients) {
        // The inbox's members changed since the last report: nothing was written; seal to them as they are.
        freshRecipients = true;
        kept = fromCopy;
        continue;
      }
      outcome = attempted === RECIPIENTS_CHANGED ? undefined : attempted;
      if (outcome) break;
      // The copy was stale (another instance, the purge, a notice), or a row was there after all: not
      // contention; read the row now.
      if (fromCopy) continue;
      metrics?.errors.inc({ kind: 'turn_conflict' });
      if (attempt >= MAX_TURN_ATTEMPTS) {
        // Still contended: the platform redelivers the update later (503), nothing was written.
        throw new DatabaseUnavailableError('conversation busy');
      }
      // Two instances racing on one conversation: let the other one finish before reading again.
      if (attempt >= 2) await new Promise((r) => setTimeout(r, randomInt(1, 5 * attempt)));
      attempt++;
    }
    if (outcome.duplicate) return outcome;
    metrics?.turns.inc({ channel: input.channel });
    if (outcome.submitted) {
      for (const listener of this.reportListeners) {
        // Listeners (e.g. coordinator notices) must not fail the turn that already committed.
        Promise.resolve()
          .then(() => listener(outcome.submitted!))
          .catch((err) => logger.warn({ err }, 'report listener failed'));
      }
    }
    return outcome;
  }

  /**
   * One attempt at a turn; `undefined` when another write came first (nothing was written: run it again).
   * From `kept` (the row as this instance last wrote it) instead of a read: its write then also checks that
   * the row is still exactly that copy, and a redelivered event is found by the write (a duplicate). From
   * `NO_ROW`: as if the user had no conversation, kept only if the write inserts one (none was there).
   */
  private async attemptTurn(
    input: InboundTurn,
    hashes: string[],
    eventHash: string | undefined,
    kept: TurnRow | typeof NO_ROW | undefined,
    freshRecipients: boolean,
  ): Promise<TurnOutcome | undefined | typeof RECIPIENTS_CHANGED> {
    const { db, keyring, config, logger, metrics } = this.deps;
    /** Set when the write found the report's recipients changed (nothing written). */
    let recipientsChanged = false;
    const event = eventHash === undefined ? undefined : { channel: input.channel, eventHash };
    const read: TurnRead =
      kept === NO_ROW
        ? { seen: false }
        : kept
          ? { seen: false, row: kept }
          : await readTurn(db, hashes, event);
    const exact = kept !== undefined;
    /** The row as this turn's write leaves it, kept once the write is committed. */
    let written: TurnRow | undefined;
    if (read.seen) {
      // A redelivery. If the replies of the first delivery were never confirmed sent (the instance died
      // after the write), they are handed back to be sent now; otherwise there is nothing to do.
      const pending = input.outbox && read.pending ? this.openPendingSealed(input, read.pending) : undefined;
      return {
        duplicate: true,
        replies: pending?.replies ?? [],
        status: 'awaiting-input',
        erased: false,
        lang: pending?.lang ?? config.languages.default,
      };
    }
    const row = read.row;
    let stored: StoredConversation | undefined;
    if (row) {
      try {
        stored = this.openStored(input.channel, input.platformUserId, row);
      } catch (err) {
        // A state we cannot open (key lost, tampered row) is discarded; the user starts over.
        logger.warn({ err, channel: input.channel }, 'conversation state could not be opened; discarded');
        stored = undefined;
      }
    }
    const chosen = this.chooseFlow(stored?.s ?? null, input.turn);
    const engineOptions = {
      idleTimeoutMs: config.conversations.idleTimeoutMinutes * 60_000,
      defaultLang: config.languages.default,
    };
    const first = step(chosen.flow, chosen.state, input.turn, engineOptions);
    // Effects that read or write other tables run with the turn's write in one transaction. A submitted
    // report needs none: it is inserted by the turn's write itself, only if that write succeeds.
    const needsTransaction = first.effects.some((e) => e.type === 'follow_up' || e.type === 'erase');
    // Those turns (`/suivi`, `/effacer`) start from a read: their effects count receipt attempts and take the
    // trail before the write, which a stale copy or a redelivery would do for nothing.
    if (needsTransaction && kept) return undefined;

    const finish = async (q: Queryable): Promise<TurnOutcome | undefined> => {
      let result = first;
      const replies: Reply[] = [...result.replies];
      let erased = false;
      let submitted: TurnOutcome['submitted'];
      /** The report a submit sealed, inserted by the turn's write, and the inbox members it was sealed to. */
      let report: NewReport | undefined;
      let reportTo: SealedTo | undefined;
      const pending = [...result.effects];
      while (pending.length > 0) {
        const effect = pending.shift()!;
        switch (effect.type) {
          case 'submit': {
            if (report) throw new Error('a turn submitted twice');
            const done = await this.submit(
              q,
              effect,
              input.channel,
              input.turn.now,
              input.notifyAddress,
              freshRecipients,
            );
            if (done.ok) {
              report = done.report;
              reportTo = done.sealedTo;
            }
            const follow: Turn = done.ok
              ? {
                  kind: 'submitted',
                  now: input.turn.now,
                  reference: done.reference,
                  ...(done.receipt ? { receipt: done.receipt } : {}),
                  capabilities: input.turn.capabilities,
                }
              : {
                  kind: 'submit_failed',
                  now: input.turn.now,
                  reason: 'no_recipient',
                  capabilities: input.turn.capabilities,
                };
            if (done.ok) {
              submitted = {
                reference: done.reference,
                inbox: done.inbox,
                urgency: done.urgency,
                kind: effect.kind,
              };
            }
            result = step(chosen.flow, result.state, follow, engineOptions);
            replies.push(...result.replies);
            pending.push(...result.effects);
            break;
          }
          case 'follow_up':
            replies.push(
              ...(await this.followUp(
                q,
                effect.receipt,
                hashes[0]!,
                result.state?.lang ?? config.languages.default,
                input.turn.now,
                // The audience is known only once a conversation exists (a first "/suivi" has none yet).
                chosen.state || result.state ? chosen.flow.kind : undefined,
              )),
            );
            break;
          case 'erase':
            erased = true;
            break;
          case 'mark_urgent':
            logger.info({ channel: input.channel }, 'conversation marked immediate danger');
            break;
          case 'forget':
            break;
        }
      }
      const previousChannelData = stored?.c;
      let outboxRow: PendingRow | undefined;
      if (input.outbox && eventHash !== undefined && !erased && replies.length > 0) {
        const lang = result.state?.lang ?? chosen.state?.lang ?? config.languages.default;
        outboxRow = {
          channel: input.channel,
          eventHash,
          userHash: hashes[0]!,
          sealed: sealState(
            keyring.current,
            `${input.channel}:outbox`,
            input.platformUserId,
            JSON.stringify({ replies, lang }),
          ),
        };
      }
      let erasable: MessageId[] | undefined;
      if (erased) {
        await deletePendingRepliesOf(q, hashes);
        erasable = this.openTrail(
          input.channel,
          input.platformUserId,
          await takeTrail(q, hashes, input.channel),
        );
      }
      let write: ConversationWrite;
      const idleMs = config.conversations.idleTimeoutMinutes * 60_000;
      if (result.state === null || erased) {
        write = row
          ? {
              op: 'delete',
              userHash: row.user_hash,
              version: row.version,
              unsent: row.unsent,
              dropUnsent: erased,
              exact,
            }
          : { op: 'none' };
      } else {
        const channelData = input.channelData ? input.channelData(stored?.c) : stored?.c;
        const payload: StoredConversation = { s: result.state, ...(channelData ? { c: channelData } : {}) };
        write = {
          op: 'save',
          row: {
            userHash: hashes[0]!,
            channel: input.channel,
            state: sealState(keyring.current, input.channel, input.platformUserId, JSON.stringify(payload)),
            keyFingerprint: keyring.current.fingerprint,
            expiresAt: new Date(input.turn.now + idleMs),
            expiresBy: new Date(input.turn.now + idleMs + Math.min(EXPIRY_SLACK_MAX_MS, idleMs / 48)),
            ...(row ? {} : { version: newRowVersion() }),
          },
          // The updates recorded since the read stay for the next turn; those read are folded in now.
          ...(row
            ? {
                from: {
                  userHash: row.user_hash,
                  version: row.version,
                  folded: row.channel_updates.length,
                  unsent: row.unsent,
                  exact,
                },
              }
            : {}),
        };
      }
      // Without a read, only a new row is written: its insert fails if the user had a row after all.
      if (kept === NO_ROW && (write.op !== 'save' || write.from)) return undefined;
      const wrote = await writeTurn(q, write, event, outboxRow, report, reportTo);
      if (wrote === 'recipients_changed') {
        metrics?.errors.inc({ kind: 'recipients_changed' });
        this.recipientsKept.delete(report!.inboxId);
        recipientsChanged = true;
      }
      if (wrote !== 'ok') return undefined;
      if (report) {
        logger.info(
          { inbox: report.inboxId, kind: report.flowKind, urgency: report.urgency },
          'report sealed and stored',
        );
      }
      if (write.op === 'save') {
        // The row as written: the updates read were folded (later ones, if any, make the copy stale).
        written = {
          user_hash: write.row.userHash,
          state: write.row.state,
          version: write.from ? write.from.version + 1 : write.row.version!,
          unsent: outboxRow !== undefined,
          channel_updates: [],
        };
      }
      if (submitted) {
        metrics?.submissions.inc({
          channel: input.channel,
          kind: submitted.kind,
          urgency: submitted.urgency,
        });
      }
      return {
        replies,
        status: result.status,
        erased,
        lang: result.state?.lang ?? chosen.state?.lang ?? config.languages.default,
        ...(previousChannelData ? { previousChannelData } : {}),
        ...(erasable ? { erasable } : {}),
        ...(submitted ? { submitted } : {}),
        ...(input.turn.kind === 'start' && chosen.state === null && result.state !== null && !erased
          ? { started: { flowId: chosen.flow.id } }
          : {}),
      };
    };

    let out: TurnOutcome | undefined;
    if (!needsTransaction) out = await finish(db);
    else {
      try {
        out = await db.transaction(async (tx) => {
          const done = await finish(tx);
          // Rolls back what the effects took (the trail of an /effacer) with the turn that lost the race.
          if (!done) throw new TurnConflict();
          return done;
        });
      } catch (err) {
        if (!(err instanceof TurnConflict)) throw err;
      }
    }
    if (!out) return recipientsChanged ? RECIPIENTS_CHANGED : undefined;
    // Committed: keep the row as written for the next turn; a row that is gone leaves no copy behind.
    if (written && written.version >= KEPT_FROM_VERSION) this.turnCache.put(written);
    else this.turnCache.forget(hashes[0]!);
    return out;
  }

  /**
   * Records a change to the channel's data of a live conversation (e.g. ids of messages just sent), folded
   * into the state by the next turn with the channel's merge (`registerChannelData`). One statement, no
   * lock: the turn in progress, if any, commits first. No-op once the conversation is gone.
   */
  async recordChannelData(
    channel: string,
    platformUserId: string,
    change: ChannelData | undefined,
    /** The event whose replies were just sent: its outbox entry is deleted in the same statement. */
    deliveredEventId?: string,
    /** Ids of the chat messages just exchanged, kept in the message trail for /effacer (same statement). */
    messageIds?: MessageId[],
  ): Promise<void> {
    const { keyring } = this.deps;
    const hasChange = change !== undefined && Object.keys(change).length > 0;
    const hasIds = messageIds !== undefined && messageIds.length > 0;
    const hashes = this.userHashes(channel, platformUserId);
    const entry: AfterSend = { userHashes: hashes };
    if (hasChange) {
      // One sealed blob for both: the channel update (folded by the next turn) and, with ids, the trail batch
      // (read by /effacer), the same bytes in both places: one encryption instead of two.
      const sent: SentBlob = hasIds ? { v: SENT_BLOB, c: change, t: messageIds } : change;
      entry.sealed = sealState(keyring.current, `${channel}:data`, platformUserId, JSON.stringify(sent));
      if (hasIds) entry.trail = { userHash: hashes[0]!, channel, sealed: entry.sealed };
    } else if (hasIds) {
      entry.trail = {
        userHash: hashes[0]!,
        channel,
        sealed: this.sealTrail(channel, platformUserId, messageIds),
      };
    }
    if (deliveredEventId !== undefined) {
      entry.delivered = { channel, eventHash: this.takeEventHash(channel, deliveredEventId) };
    }
    if (!entry.sealed && !entry.delivered && !entry.trail) return;
    await this.afterSend(entry);
  }

  /**
   * Queues the work after sending of one turn; resolves once it is stored. Entries that arrive while a
   * batch is being written go together in the next statement (one round trip for many turns under load,
   * no wait when the service is idle). The outbox entry stays until then: a redelivery meanwhile still
   * finds it.
   */
  private afterSend(entry: AfterSend): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.afterSendQueue.push({ entry, resolve, reject });
      if (this.afterSendFlushing < AFTER_SEND_IN_FLIGHT && !this.afterSendScheduled) {
        this.afterSendScheduled = true;
        // What the other requests of this turn of the event loop record joins the same batch.
        setImmediate(() => {
          this.afterSendScheduled = false;
          void this.flushAfterSend();
        });
      }
    });
  }

  private async flushAfterSend(): Promise<void> {
    this.afterSendFlushing += 1;
    try {
      while (this.afterSendQueue.length > 0) {
        const batch = this.afterSendQueue.splice(0, AFTER_SEND_MAX_BATCH);
        try {
          const changed = await recordAfterSend(
            this.deps.db,
            batch.map((b) => b.entry),
          );
          this.followAfterSend(batch, changed);
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.afterSendFlushing -= 1;
    }
  }

  /** The kept copies of rows follow what the work after sending changed in them (or go, when unknown). */
  private followAfterSend(batch: { entry: AfterSend }[], changed: AfterSendRows): void {
    const appended = new Map<string, Uint8Array | undefined>();
    for (const { entry } of batch) {
      if (!entry.sealed && !entry.delivered) continue;
      for (const h of entry.userHashes) appended.set(h, entry.sealed);
    }
    if (!changed.rows) {
      for (const h of appended.keys()) this.turnCache.forget(h);
      return;
    }
    for (const row of changed.rows) this.turnCache.afterSend(row.userHash, row, appended.get(row.userHash));
  }

  /**
   * Keeps the ids of chat messages for /effacer, outside any conversation (e.g. a notice sent later). The
   * ids are sealed with a key that needs the raw platform id; the purge drops them 48 h after the last.
   */
  async recordMessages(channel: string, platformUserId: string, messageIds: MessageId[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.recordChannelData(channel, platformUserId, undefined, undefined, messageIds);
  }

  private sealTrail(channel: string, platformUserId: string, ids: MessageId[]): Uint8Array {
    return sealState(this.deps.keyring.current, `${channel}:trail`, platformUserId, JSON.stringify(ids));
  }

  /**
   * The ids of sealed trail batches, in order; a batch that cannot be opened (old key) is skipped. A batch is
   * a list of ids sealed for the trail, or the blob of a turn's work after sending (channel update and ids).
   */
  private openTrail(channel: string, platformUserId: string, batches: Uint8Array[]): MessageId[] {
    const ids: MessageId[] = [];
    const { all } = this.deps.keyring;
    for (const sealed of batches) {
      let batch: unknown;
      try {
        batch = sentIds(JSON.parse(openState(all, `${channel}:data`, platformUserId, sealed).json));
      } catch {
        try {
          batch = JSON.parse(openState(all, `${channel}:trail`, platformUserId, sealed).json);
        } catch {
          // Sealed under a master key no longer held: those messages can no longer be found.
          continue;
        }
      }
      if (!Array.isArray(batch)) continue;
      for (const id of batch) if (typeof id === 'number' || typeof id === 'string') ids.push(id);
    }
    return [...new Set(ids)];
  }

  /** The channel's data of a live conversation, with the recorded changes folded in (read only). */
  async channelDataOf(channel: string, platformUserId: string): Promise<ChannelData | undefined> {
    const row = await findConversation(this.deps.db, this.userHashes(channel, platformUserId));
    if (!row) return undefined;
    try {
      return this.openStored(channel, platformUserId, row).c;
    } catch {
      return undefined;
    }
  }

  /**
   * Opens a stored conversation (throws when the state cannot be opened) with the channel updates recorded
   * since it was written folded into its channel data; an update that cannot be opened is skipped.
   */
  private openStored(
    channel: string,
    platformUserId: string,
    row: { state: Uint8Array; channel_updates: Uint8Array[] },
  ): StoredConversation {
    const stored = JSON.parse(openState(this.deps.keyring.all, channel, platformUserId, row.state).json);
    const merge = this.mergers.get(channel) ?? shallowMerge;
    let out: ChannelData | undefined = stored.c;
    for (const sealed of row.channel_updates) {
      try {
        const change = sentChange(
          JSON.parse(openState(this.deps.keyring.all, `${channel}:data`, platformUserId, sealed).json),
        );
        out = merge(out, change);
      } catch {
        // Sealed under a key no longer held: the change is lost (at worst /effacer deletes fewer messages).
      }
    }
    return out === undefined ? stored : { ...stored, c: out };
  }

  /**
   * Forgets a conversation, its unsent replies and its message trail (the user blocked the bot or removed
   * the app: nothing can be sent or deleted in that chat any more).
   */
  async forget(channel: string, platformUserId: string): Promise<number> {
    const hashes = this.userHashes(channel, platformUserId);
    this.turnCache.forget(hashes[0]!);
    return this.deps.db.transaction(async (tx) => {
      await deletePendingRepliesOf(tx, hashes);
      await deleteTrail(tx, hashes);
      return deleteConversation(tx, hashes);
    });
  }

  /** Confirms that the replies of these events of one user were sent: their outbox entries go. */
  async confirmDelivered(channel: string, platformUserId: string, eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await confirmPendingReplies(
      this.deps.db,
      channel,
      eventIds.map((id) => this.takeEventHash(channel, id)),
      this.userHashes(channel, platformUserId),
    );
  }

  /**
   * The keyed hash under which a platform event id is deduplicated. `keep`: the turn of that event computes
   * it, and its work after sending needs it again (`takeEventHash`): kept for the last events (the platform's
   * event id and its hash, nothing of the conversation).
   */
  private eventHash(channel: string, eventId: string, keep = false): string {
    const hash = hashUserId(this.deps.keyring.current, `${channel}:event`, eventId);
    if (keep) {
      if (this.turnEventHashes.size >= TURN_EVENT_HASHES) {
        this.turnEventHashes.delete(this.turnEventHashes.keys().next().value as string);
      }
      this.turnEventHashes.set(this.eventKey(channel, eventId), hash);
    }
    return hash;
  }

  /** The hash a turn kept for its event (forgotten now), or computed again. */
  private takeEventHash(channel: string, eventId: string): string {
    const key = this.eventKey(channel, eventId);
    const kept = this.turnEventHashes.get(key);
    if (kept === undefined) return this.eventHash(channel, eventId);
    this.turnEventHashes.delete(key);
    return kept;
  }

  private eventKey(channel: string, eventId: string): string {
    return `${this.deps.keyring.current.fingerprint}\0${channel}\0${eventId}`;
  }

  /** The unsent replies of a redelivered event (opened with the raw platform id). */
  private openPendingSealed(
    input: InboundTurn,
    sealed: Uint8Array,
  ): { replies: Reply[]; lang: Lang } | undefined {
    try {
      return JSON.parse(
        openState(this.deps.keyring.all, `${input.channel}:outbox`, input.platformUserId, sealed).json,
      );
    } catch (err) {
      this.deps.logger.warn({ err }, 'pending replies could not be opened; dropped');
      return undefined;
    }
  }

  /**
   * The members of an inbox a report may be sealed to. A membership the service did not write (its MAC
   * fails) receives nothing: a database writer cannot add a silent reader. The coordinator id is not
   * content; /readyz reports the same problem.
   */
  async trustedRecipients(tx: Queryable, inbox: string, lock = false): Promise<InboxRecipient[]> {
    return (await this.readRecipients(tx, inbox, lock)).trusted;
  }

  /** The trusted members of an inbox, and all its members as read (for the write's check, `SealedTo`). */
  private async readRecipients(
    tx: Queryable,
    inbox: string,
    /** Locks the members read until the transaction `tx` ends (a report is stored sealed to them). */
    lock = false,
  ): Promise<{ trusted: InboxRecipient[]; sealedTo: SealedTo }> {
    const { keyring, logger, metrics } = this.deps;
    const candidates = await inboxRecipients(tx, inbox, lock);
    const trusted: InboxRecipient[] = [];
    for (const r of candidates) {
      if (memberIsTrusted(keyring, r, inbox)) {
        trusted.push({ coordinatorId: r.id, publicKey: r.public_key });
        continue;
      }
      metrics?.errors.inc({ kind: 'member_integrity' });
      logger.warn(
        { inbox, coordinatorId: r.id },
        'inbox membership fails the integrity check: not sealed to it',
      );
    }
    return { trusted, sealedTo: sealedTo(inbox, candidates) };
  }

  /**
   * The recipients of a chat's report: as kept from the last report to this inbox (no read; the write checks
   * they are still the inbox's members), or read now (`fresh`, also checked by the write).
   */
  private async reportRecipients(
    tx: Queryable,
    inbox: string,
    fresh: boolean,
  ): Promise<{ trusted: InboxRecipient[]; sealedTo: SealedTo }> {
    const keys = this.deps.keyring.all;
    const kept = this.recipientsKept.get(inbox);
    // Kept only under the same master keys: the members' MACs were checked with them.
    if (!fresh && kept && kept.keys === keys) return kept;
    const read = await this.readRecipients(tx, inbox);
    if (read.trusted.length > 0) this.recipientsKept.set(inbox, { keys, ...read });
    else this.recipientsKept.delete(inbox);
    return read;
  }

  /**
   * Stores a report sealed in the person's browser (the web flow): the server checks that it was sealed to
   * exactly the inbox's trusted recipients as they are now (else `stale`, with the current keys, and the
   * page seals again), keys the receipt's lookup hash, and stores the envelope, the queue metadata and the
   * reply public key. It never sees an answer, the receipt or a reply private key.
   */
  async acceptSealedReport(input: BrowserSealedReport): Promise<AcceptSealedResult> {
    const { db, keyring, logger, metrics } = this.deps;
    const result = await db.transaction(async (tx): Promise<AcceptSealedResult> => {
      // Locked until the report is stored: a member disabled or re-keyed meanwhile waits, or is seen.
      const recipients = await this.trustedRecipients(tx, input.inbox, true);
      if (recipients.length === 0) return { ok: false, reason: 'no_recipient' };
      const tag = recipientsTag(recipients);
      const sealedTo = new Set(input.envelope.keys.map((k) => k.coordinatorId));
      const exact =
        input.recipientsTag === tag &&
        sealedTo.size === input.envelope.keys.length &&
        sealedTo.size === recipients.length &&
        recipients.every((r) => sealedTo.has(r.coordinatorId));
      if (!exact) return { ok: false, reason: 'stale_recipients', recipients, recipientsTag: tag };
      if (await findReportById(tx, input.id)) return { ok: false, reason: 'duplicate' };
      if (await findReportByReference(tx, input.reference)) return { ok: false, reason: 'reference_taken' };
      await insertReport(tx, {
        id: input.id,
        reference: input.reference,
        inboxId: input.inbox,
        flowKind: input.kind,
        channel: 'web',
        urgency: input.urgency,
        envelopeVersion: input.envelope.v,
        nonce: input.envelope.nonce,
        ciphertext: input.envelope.ciphertext,
        receivedAt: new Date(input.now),
        keys: input.envelope.keys,
        ...(input.receipt
          ? {
              receiptTag: receiptTagFromLookupHash(keyring.current, input.receipt.lookupHash),
              receiptSalt: input.receipt.salt,
              receiptPublicKey: input.receipt.publicKey,
            }
          : {}),
      });
      return { ok: true };
    });
    if (!result.ok) {
      metrics?.errors.inc({ kind: `web_${result.reason}` });
      return result;
    }
    metrics?.submissions.inc({ channel: 'web', kind: input.kind, urgency: input.urgency });
    logger.info({ inbox: input.inbox, kind: input.kind, urgency: input.urgency }, 'sealed web report stored');
    const notice: NewReportNotice = {
      reference: input.reference,
      inbox: input.inbox,
      urgency: input.urgency,
      kind: input.kind,
    };
    for (const listener of this.reportListeners) {
      Promise.resolve()
        .then(() => listener(notice))
        .catch((err) => logger.warn({ err }, 'report listener failed'));
    }
    return result;
  }

  private async submit(
    tx: Queryable,
    effect: SubmitEffect,
    channel: string,
    now: number,
    notifyAddress: string | undefined,
    /** Read the inbox's members now (the kept ones changed); else the kept ones, checked by the write. */
    freshRecipients: boolean,
  ): Promise<
    | {
        ok: true;
        reference: string;
        receipt?: string;
        inbox: string;
        urgency: Urgency;
        report: NewReport;
        sealedTo: SealedTo;
      }
    | { ok: false }
  > {
    const { config, logger, keyring, metrics } = this.deps;
    const decision = route(config.routing.rules, {
      flowId: effect.flowId,
      kind: effect.kind,
      urgency: effect.urgency,
      attributes: effect.routing,
    });
    if (!decision) {
      metrics?.errors.inc({ kind: 'no_route' });
      logger.error({ flow: effect.flowId, kind: effect.kind }, 'submission refused: no routing rule matches');
      return { ok: false };
    }
    const { trusted: recipients, sealedTo } = await this.reportRecipients(
      tx,
      decision.inbox,
      freshRecipients,
    );
    if (recipients.length === 0) {
      metrics?.errors.inc({ kind: 'no_recipient' });
      logger.error(
        { inbox: decision.inbox, kind: effect.kind },
        'submission refused: the inbox has no coordinator key (run `intake coordinator add`)',
      );
      return { ok: false };
    }
    const id = randomUUID();
    // No lookup first: a reference already taken (1 in ~7e8 per report) fails the insert on its unique
    // constraint, which rolls the turn back and runs it again with a new reference.
    const reference = newReference();
    const payload = reportPayload(effect, {
      reference,
      channel,
      urgency: decision.urgency,
      submittedAt: new Date(now),
    });
    const sealed = sealReport({ reportId: id, payload, recipients });
    const issued = effect.receipt ? issueReceipt() : undefined;
    const receipt = issued?.receipt;
    const receiptFields = issued && {
      // The web form of the tag (keyed hash of the receipt's lookup hash): the page's "J'ai déjà un code"
      // sends only that hash, so a chat's receipt is found on the web too; /suivi tries both forms.
      receiptTag: receiptTagFromLookupHash(keyring.current, issued.lookupHash),
      receiptSalt: issued.salt,
      receiptPublicKey: issued.publicKey,
    };
    // Opt-in only, sealed with the contact subkey; deleted when the case is closed.
    const contactSealed =
      effect.notify && notifyAddress
        ? sealContact(keyring.current, JSON.stringify({ channel, address: notifyAddress, lang: effect.lang }))
        : undefined;
    const report: NewReport = {
      id,
      ...(contactSealed ? { contactSealed } : {}),
      reference,
      inboxId: decision.inbox,
      flowKind: effect.kind,
      channel,
      urgency: decision.urgency,
      envelopeVersion: REPORT_ENVELOPE_VERSION,
      nonce: sealed.nonce,
      ciphertext: sealed.ciphertext,
      receivedAt: new Date(now),
      keys: sealed.keys,
      ...receiptFields,
    };
    return {
      ok: true,
      reference,
      inbox: decision.inbox,
      urgency: decision.urgency,
      report,
      sealedTo,
      ...(receipt ? { receipt } : {}),
    };
  }

  /**
   * The report a receipt's tags find (per master key, current first: `[chat form, web form]`). A hit under an
   * older master key or in the chat form (reports filed from a chat before the web lookup existed) moves the
   * stored tag to the current key's web form, the one "J'ai déjà un code" on the page can find.
   */
  private async findByReceiptTags(
    tx: Queryable,
    forms: (readonly string[])[],
  ): Promise<Awaited<ReturnType<typeof findReportByReceiptTag>>> {
    const target = forms[0]?.at(-1);
    for (const [i, tags] of forms.entries()) {
      for (const [form, tag] of tags.entries()) {
        const report = await findReportByReceiptTag(tx, tag);
        if (!report) continue;
        if (target && (i > 0 || form !== tags.length - 1)) await updateReceiptTag(tx, report.id, target);
        return report;
      }
    }
    return undefined;
  }

  /**
   * "J'ai déjà un code" on the web page: the page sends only the receipt's lookup hash (never the receipt)
   * and opens the replies itself. Limited per client (a hash of the IP) and in total with the same limiters
   * as /suivi (shared through Redis when configured). The server checks each reply's signature against the
   * author's signing key it vouches for (keys MAC), as /suivi does, and returns only the replies that pass,
   * sealed, with their day. An unknown receipt and a report without (authentic) replies get the same
   * answer: no salt, no reply.
   */
  async webFollowUp(input: {
    lookupHash: string;
    client: string;
    now: number;
  }): Promise<
    | { ok: false; reason: 'throttled' }
    | { ok: true; salt?: string; replies: { sealed: string; sentAt: string }[]; to?: FollowUpTarget }
  > {
    const { db, metrics } = this.deps;
    const clientKey = `web:${createHash('sha256').update(`web follow-up ip\0${input.client}`).digest('hex')}`;
    if (
      !(await this.receiptLimits.perUser.take(clientKey, input.now)) ||
      !(await this.receiptLimits.global.take('all', input.now))
    ) {
      metrics?.errors.inc({ kind: 'receipt_throttled' });
      return { ok: false, reason: 'throttled' };
    }
    const report = await this.reportOfLookupHash(db, input.lookupHash);
    const target = await this.followUpTarget(db, input.lookupHash, report);
    const to = target.recipients.length > 0 ? { to: target } : {};
    if (!report) {
      metrics?.errors.inc({ kind: 'receipt_unknown' });
      return { ok: true, replies: [], ...to };
    }
    const replies = this.authentic(report.id, await listReplies(db, report.id)).map((r) => ({
      sealed: r.sealed,
      // The day only (Paris time, YYYY-MM-DD), as /suivi shows it.
      sentAt: new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(r.created_at),
    }));
    if (replies.length === 0) return { ok: true, replies: [], ...to };
    return { ok: true, salt: report.receipt_salt!, replies, ...to };
  }

  /** The report a receipt's lookup hash finds (web form of the tag, every master key), if it has a receipt. */
  private async reportOfLookupHash(
    tx: Queryable,
    lookupHash: string,
  ): Promise<Awaited<ReturnType<typeof findReportByReceiptTag>>> {
    const forms = this.deps.keyring.all.map((keys) => [receiptTagFromLookupHash(keys, lookupHash)]);
    const report = await this.findByReceiptTags(tx, forms);
    return report?.receipt_salt ? report : undefined;
  }

  /** The inbox a youth report goes to by default: where a decoy follow-up target points. */
  private decoyInbox(): string {
    const { config, flows } = this.deps;
    const youth = [flows.default(), ...flows.list()].find((f) => f.kind === 'youth');
    const decision = route(config.routing.rules, {
      flowId: youth?.id ?? flows.default().id,
      kind: 'youth',
      urgency: 'normal',
      attributes: {},
    });
    return decision?.inbox ?? config.inboxes[0]?.id ?? '';
  }

  /**
   * Where a follow-up to this lookup hash is sealed (see {@link FollowUpTarget}): the found report's id and
   * its inbox's current trusted recipients, or, for an unknown code, the decoy.
   */
  private async followUpTarget(
    tx: Queryable,
    lookupHash: string,
    report: { id: string; inbox_id: string } | undefined,
    /** The members read stay locked until `tx` ends (a follow-up is stored sealed to them). */
    lock = false,
  ): Promise<FollowUpTarget> {
    const reportId = report?.id ?? decoyReportId(this.deps.keyring.current, lookupHash);
    const recipients = await this.trustedRecipients(tx, report?.inbox_id ?? this.decoyInbox(), lock);
    return { reportId, recipients, recipientsTag: recipientsTag(recipients) };
  }

  /**
   * A follow-up message sealed in the person's browser ("J'ai déjà un code", then writing back). The server
   * finds the report by the receipt's lookup hash, checks that the page sealed to that report's id and to
   * the current trusted recipients of its inbox (else `stale` with the current target: seal again), refuses
   * a message id already used, stores the envelope and the sealed keys and marks the case (the queue shows
   * it as new, whatever its status). A code that finds no report goes through the same checks against the
   * decoy target; the message is then discarded and only its id is kept (so that a replay is refused there
   * too). Nothing of the text, the receipt or the lookup hash is stored or logged.
   */
  async acceptFollowUp(input: BrowserFollowUp): Promise<AcceptFollowUpResult> {
    const { db, logger, metrics } = this.deps;
    const result = await db.transaction(
      async (tx): Promise<AcceptFollowUpResult & { notice?: NewReportNotice }> => {
        const report = await this.reportOfLookupHash(tx, input.lookupHash);
        const to = await this.followUpTarget(tx, input.lookupHash, report, true);
        if (to.recipients.length === 0) return { ok: false, reason: 'no_recipient' };
        const sealedTo = new Set(input.envelope.keys.map((k) => k.coordinatorId));
        const exact =
          input.reportId === to.reportId &&
          input.recipientsTag === to.recipientsTag &&
          sealedTo.size === input.envelope.keys.length &&
          sealedTo.size === to.recipients.length &&
          to.recipients.every((r) => sealedTo.has(r.coordinatorId));
        if (!exact) return { ok: false, reason: 'stale', to };
        if (await followUpIdUsed(tx, input.messageId)) return { ok: false, reason: 'duplicate' };
        const at = new Date(input.now);
        if (!report) {
          await insertFollowUpDiscard(tx, input.messageId, at);
          return { ok: true };
        }
        const stored = await insertFollowUp(tx, {
          id: input.messageId,
          reportId: report.id,
          envelopeVersion: input.envelope.v,
          nonce: input.envelope.nonce,
          ciphertext: input.envelope.ciphertext,
          keys: input.envelope.keys,
          createdAt: at,
        });
        if (!stored) return { ok: false, reason: 'duplicate' };
        await appendAudit(tx, { actorId: null, action: 'followup', reportReference: report.reference });
        return {
          ok: true,
          notice: {
            reference: report.reference,
            inbox: report.inbox_id,
            urgency: report.urgency,
            kind: report.flow_kind,
          },
        };
      },
    );
    if (!result.ok) {
      metrics?.errors.inc({ kind: `followup_${result.reason}` });
      return result;
    }
    // The same line for a stored and a discarded message; no reference, no id.
    logger.info('sealed follow-up accepted');
    if ('notice' in result && result.notice) {
      const notice = result.notice;
      for (const listener of this.followUpListeners) {
        // A listener's failure must not fail the accepted message (it is stored and in the queue).
        Promise.resolve()
          .then(() => listener(notice))
          .catch((err) => logger.warn({ err }, 'follow-up listener failed'));
      }
    }
    return { ok: true };
  }

  /**
   * The replies a submitter may see: only those their author signed (with the signing key the service
   * vouches for) or that the migration attested. A reply forged in the database is never shown, and is
   * counted and logged (its id only).
   */
  private authentic<R extends Parameters<typeof replyIsAuthentic>[2]>(reportId: string, rows: R[]): R[] {
    return rows.filter((r) => {
      if (replyIsAuthentic(this.deps.keyring, reportId, r)) return true;
      this.deps.metrics?.errors.inc({ kind: 'reply_integrity' });
      this.deps.logger.warn({ replyId: r.id }, 'reply fails signature verification: not shown');
      return false;
    });
  }

  /**
   * /suivi <receipt>: finds the report by the receipt's keyed tag, derives the receipt key pair in memory and
   * opens the replies. Throttled per user and in total (shared through Redis when configured); an unknown
   * receipt and a report without replies get the same answer, so a failure does not reveal whether a receipt
   * exists. Speaks "tu" or "vous" after the conversation's flow `kind`; without one, neutrally (the found
   * report's kind picks the register only of the replies shown, since using it for "no reply" would tell a
   * found receipt from an unknown one).
   */
  private async followUp(
    tx: Queryable,
    receipt: string,
    userHash: string,
    lang: Lang,
    now: number,
    kind: FlowKind | undefined,
  ): Promise<Reply[]> {
    const registerFor = (k: FlowKind | undefined): FollowUpRegister => (k ? registerOf(k) : 'neutral');
    const t = FOLLOW_UP[lang][registerFor(kind)];
    if (!receipt.trim()) return [{ type: 'text', text: t.usage }];
    if (
      !(await this.receiptLimits.perUser.take(userHash, now)) ||
      !(await this.receiptLimits.global.take('all', now))
    ) {
      this.deps.metrics?.errors.inc({ kind: 'receipt_throttled' });
      return [{ type: 'text', text: t.throttled }];
    }
    // Two forms of tag per master key: a chat's (keyed hash of the receipt) and the web flow's (keyed hash
    // of the receipt's lookup hash, made in the browser); a receipt from either works here.
    let forms: [chat: string, web: string][];
    try {
      const lookupHash = receiptLookupHash(receipt);
      forms = this.deps.keyring.all.map((keys) => [
        receiptLookupTag(keys, receipt),
        receiptTagFromLookupHash(keys, lookupHash),
      ]);
    } catch {
      // normalizeReceipt refuses malformed input: same answer as an unknown receipt.
      forms = [];
    }
    // Database errors are not caught here: the turn fails and the platform retries (503).
    const report = await this.findByReceiptTags(tx, forms);
    if (!report?.receipt_salt) {
      this.deps.metrics?.errors.inc({ kind: 'receipt_unknown' });
      return [{ type: 'text', text: t.none }];
    }
    const replies = await listReplies(tx, report.id);
    if (replies.length === 0) return [{ type: 'text', text: t.none }];
    const shown = FOLLOW_UP[lang][registerFor(kind ?? report.flow_kind)];
    const kp = receiptKeyPair(receipt, decodeBytes(report.receipt_salt));
    const texts: string[] = [];
    for (const r of this.authentic(report.id, replies)) {
      try {
        texts.push(shown.item(formatDay(r.created_at, lang), openReply(kp, r.sealed)));
      } catch {
        // A reply that does not open with this receipt is skipped (never shown, never logged).
      }
    }
    kp.privateKey.fill(0);
    if (texts.length === 0) return [{ type: 'text', text: t.none }];
    return [{ type: 'text', text: [shown.header(texts.length), ...texts].join('\n\n') }];
  }
}
