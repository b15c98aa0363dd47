/**
 * The Telegram channel: translates updates into turns for the intake service and renders the replies.
 * It decides nothing about the conversation (the engine does); it owns what is Telegram's: private chats
 * only, inline keyboards and their presses, message ids for /effacer, the per-user flood limit and the
 * order in which replies of one chat are sent.
 *
 * Nothing here logs or stores content, names or platform ids: the service keeps the ids of every message
 * of the chat (the user's and ours) sealed in its message trail, which outlives the conversation (a finished
 * report stays erasable for 48 h), and log lines carry only kinds, methods and error codes.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Telegram } from 'telegraf';
import type { CallbackQuery, Message, Update, User } from 'telegraf/types';
import { type Capabilities, type Lang, type Reply, stringsFor, type Turn } from '../../engine/index.js';
import type { ChannelData, IntakeService, TurnOutcome } from '../../intake/index.js';
import { WindowLimiter } from '../../intake/limiter.js';
import type { Metrics } from '../../metrics.js';
import {
  answeredKeyboard,
  decodePress,
  type InlineKeyboard,
  keyboardFor,
  miniAppMessage,
  miniAppUrl,
  type OutgoingMessage,
  oneMessageWhereItFits,
} from './render.js';
import { langOf, TEXTS } from './texts.js';

/** The channel name the service stores (hashed with the user id). */
export const CHANNEL = 'telegram';
const CAPABILITIES: Capabilities = { buttons: true, deleteMessages: true };
/** Message ids kept per conversation for /effacer (a long conversation has well under this many). */
const MAX_IDS = 1000;
/** Update ids remembered in memory for the updates that leave no trace in the database (notices). */
const RECENT_UPDATES = 4096;

/** What the channel keeps in the encrypted conversation state. */
interface TelegramData extends ChannelData {
  /** Message ids kept in the state by earlier versions (now in the message trail); still erased. */
  ids?: number[];
  /** Long callback ids: short code -> [stepId, optionId]. */
  codes?: Record<string, [string, string]>;
  /** The message whose keyboard is live: closed when the user answers otherwise (typing, another press). */
  keyboard?: number;
  /** The question (step id) of the live keyboard, when it is a single choice. */
  step?: string;
  /**
   * Earlier copies of that same question still showing its buttons: a re-prompt (text where a button is
   * expected) asks the question again and leaves them, since a press on them answers the same question;
   * they are closed with the live one once the question is answered.
   */
  open?: number[];
}

export interface TelegramChannelOptions {
  telegram: Telegram;
  service: IntakeService;
  logger: FastifyBaseLogger;
  metrics: Metrics;
  defaultLang: Lang;
  /**
   * The service's public https address (`PUBLIC_URL`): the welcome of a new conversation then offers the
   * flow as a Mini App (a `web_app` button on `/chat/`). Missing or not https: no such button.
   */
  publicUrl?: string;
  /** Per-user flood limit (default 30 updates per 10 s). */
  flood?: { max: number; windowMs: number };
  now?: () => number;
}

/**
 * A Bot API call given back as the webhook's response body: Telegram runs it, without a request of ours
 * (https://core.telegram.org/bots/api#making-requests-when-getting-updates). Used to answer a button press.
 */
export interface WebhookCall {
  method: 'answerCallbackQuery';
  callback_query_id: string;
  text?: string;
}

/** The user blocked the bot: Telegram refuses every message (403). */
class BlockedError extends Error {
  override name = 'BlockedError';
}

type TextReply = Extract<Reply, { type: 'text' }>;

// The engine's answer to a press on an earlier question: the channel shows "closed" instead.
const STALE_TEXTS = new Set(
  (['fr', 'en'] as const).flatMap((l) =>
    (['youth', 'professional'] as const).map((k) => stringsFor(l, k).staleButton),
  ),
);

function isStale(outcome: TurnOutcome): boolean {
  const first = outcome.replies[0];
  return first?.type === 'text' && STALE_TEXTS.has((first as TextReply).text);
}

function errorCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function asData(data: ChannelData | undefined): TelegramData {
  return (data ?? {}) as TelegramData;
}

interface DataChange {
  ids?: number[];
  codes?: Record<string, [string, string]>;
  /** The message now holding the live keyboard (`null`: none), its question and its earlier copies. */
  keyboard?: number | null;
  step?: string;
  open?: number[];
}

/**
 * Earlier copies of a re-asked question kept live at most; older ones are closed. Within the flood limit
 * (30 updates in 10 s) a user rarely types more than this at one question; closing them all once it is
 * answered stays a short burst of edits.
 */
const MAX_OPEN = 16;

function changed(previous: ChannelData | undefined, change: DataChange): TelegramData {
  const data = asData(previous);
  const out: TelegramData = { ...data };
  if (change.ids && change.ids.length > 0) out.ids = [...(data.ids ?? []), ...change.ids].slice(-MAX_IDS);
  if (change.codes && Object.keys(change.codes).length > 0)
    out.codes = { ...(data.codes ?? {}), ...change.codes };
  if (change.keyboard === null) {
    delete out.keyboard;
    delete out.step;
    delete out.open;
  } else if (change.keyboard !== undefined) {
    out.keyboard = change.keyboard;
    if (change.step) out.step = change.step;
    else delete out.step;
    if (change.open && change.open.length > 0) out.open = change.open;
    else delete out.open;
  }
  return out;
}

/** The live keyboards of a conversation, as a turn found them. */
interface LiveKeyboards {
  keyboard?: number;
  step?: string;
  open?: number[];
}

function liveKeyboards(previous: ChannelData | undefined): LiveKeyboards {
  const data = asData(previous);
  return {
    ...(data.keyboard !== undefined ? { keyboard: data.keyboard } : {}),
    ...(data.step ? { step: data.step } : {}),
    ...(Array.isArray(data.open) ? { open: data.open } : {}),
  };
}

/** Every message whose buttons are live, the earlier copies first. */
function allOf(live: LiveKeyboards): number[] {
  return [...(live.open ?? []), ...(live.keyboard !== undefined ? [live.keyboard] : [])];
}

/** Whether the replies ask the single-choice question `step` again (a re-prompt), and nothing after it. */
function asksAgain(outcome: TurnOutcome, step: string): boolean {
  const last = outcome.replies.at(-1);
  return last?.type === 'choices' && !last.multi && last.stepId === step;
}

const START = /^\/start(?:@\w+)?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$/;

export class TelegramChannel {
  private readonly flood: WindowLimiter;
  private readonly floodNoticeUntil = new Map<string, number>();
  private readonly chats = new Map<number, Promise<unknown>>();
  private readonly recent = new Set<number>();
  private readonly now: () => number;

  constructor(private readonly options: TelegramChannelOptions) {
    this.flood = new WindowLimiter(options.flood?.max ?? 30, options.flood?.windowMs ?? 10_000);
    this.now = options.now ?? Date.now;
    // What `remember` records after sending is folded into the state by the next turn with this merge.
    options.service.registerChannelData(CHANNEL, (prev, change) => changed(prev, change as DataChange));
  }

  /** Sends the contentless "new reply" notice to an opted-in submitter's private chat. */
  async notifyReply(chatId: string, lang: Lang): Promise<void> {
    const m = await this.telegram.sendMessage(Number(chatId), TEXTS[lang].newReply);
    // A private chat's id is the user's id: the notice is erasable with the rest of the chat.
    await this.remember(chatId, {}, undefined, [m.message_id]);
  }

  /**
   * Handles one update. Rejects only when the database is unavailable (the webhook then answers 503).
   * With `viaWebhook`, a button press is answered by the returned call (the webhook's response body) once
   * the turn's replies are sent, saving a request; without it (long polling) it is answered by a request.
   */
  async handle(update: Update, viaWebhook = false): Promise<WebhookCall | undefined> {
    if ('callback_query' in update) return this.onPress(update.update_id, update.callback_query, viaWebhook);
    if ('message' in update) await this.onMessage(update.update_id, update.message);
    else if ('edited_message' in update) await this.onEdited(update.update_id, update.edited_message);
    else if ('my_chat_member' in update) await this.onMembership(update.update_id, update.my_chat_member);
    // Anything else was not asked for (allowed_updates); ignore it.
    return undefined;
  }

  // --- plumbing ----------------------------------------------------------------------------------------

  private get telegram() {
    return this.options.telegram;
  }

  /**
   * Runs `fn` after every earlier task of the same chat: replies of two updates of one chat are sent in
   * the order the updates arrived (the service's lock orders the turns themselves, across instances).
   */
  private inChatOrder<T>(chatId: number, fn: () => Promise<T>): Promise<T> {
    const previous = this.chats.get(chatId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.chats.set(chatId, next);
    const cleanup = () => {
      if (this.chats.get(chatId) === next) this.chats.delete(chatId);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  /** True the first time an update id is seen by this process (for updates the database does not dedup). */
  private firstSeen(updateId: number): boolean {
    if (this.recent.has(updateId)) return false;
    this.recent.add(updateId);
    if (this.recent.size > RECENT_UPDATES) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    return true;
  }

  /** The per-user flood limit; the first refusal of a window gets one notice. */
  private admit(user: User, chatId: number): boolean {
    const now = this.now();
    const hash = this.options.service.userHash(CHANNEL, String(user.id));
    if (this.flood.take(hash, now)) return true;
    this.options.metrics.errors.inc({ kind: 'telegram_flood' });
    const until = this.floodNoticeUntil.get(hash) ?? 0;
    if (until <= now) {
      this.floodNoticeUntil.set(hash, now + this.flood.windowMs);
      if (this.floodNoticeUntil.size > 10_000) {
        for (const [k, v] of this.floodNoticeUntil) if (v <= now) this.floodNoticeUntil.delete(k);
      }
      const lang = langOf(user.language_code, this.options.defaultLang);
      void this.send(chatId, TEXTS[lang].flood)
        .then((id) => (id === undefined ? undefined : this.remember(String(user.id), {}, undefined, [id])))
        .catch(() => undefined);
    }
    return false;
  }

  private apiFailed(method: string, err: unknown): void {
    this.options.metrics.errors.inc({ kind: 'telegram_api' });
    // The error's description and payload are left out: only the method and Telegram's error code.
    this.options.logger.warn({ method, code: errorCode(err) }, 'telegram api call failed');
  }

  /** Sends one HTML message; returns its id. Throws BlockedError when the user blocked the bot. */
  private async send(chatId: number, html: string, keyboard?: InlineKeyboard): Promise<number | undefined> {
    // The turn is already committed: transient failures (429 with retry_after, 5xx, network) are retried a
    // few times here; a reply still not sent stays in the outbox, unconfirmed, for a redelivery to send.
    for (let attempt = 1; ; attempt++) {
      try {
        const m = await this.telegram.sendMessage(chatId, html, {
          parse_mode: 'HTML',
          link_preview_options: { is_disabled: true },
          ...(keyboard ? { reply_markup: { inline_keyboard: keyboard } } : {}),
        });
        return m.message_id;
      } catch (err) {
        const code = errorCode(err);
        if (code === 403) throw new BlockedError();
        const transient = code === undefined || code === 429 || code >= 500;
        if (!transient || attempt >= 3) {
          this.apiFailed('sendMessage', err);
          return undefined;
        }
        const retryAfter = (err as { response?: { parameters?: { retry_after?: number } } }).response
          ?.parameters?.retry_after;
        await new Promise((r) =>
          setTimeout(r, Math.min(5_000, retryAfter ? retryAfter * 1000 : 300 * attempt)),
        );
      }
    }
  }

  private async answer(queryId: string, text?: string): Promise<void> {
    try {
      await this.telegram.answerCbQuery(queryId, text);
    } catch (err) {
      // A query answered already (redelivery) or too old: nothing to do.
      this.apiFailed('answerCallbackQuery', err);
    }
  }

  /** Answers a press: as the webhook's response (returned), or by a request now (polling). */
  private async answerPress(
    queryId: string,
    text: string | undefined,
    viaWebhook: boolean,
  ): Promise<WebhookCall | undefined> {
    if (viaWebhook) {
      return { method: 'answerCallbackQuery', callback_query_id: queryId, ...(text ? { text } : {}) };
    }
    await this.answer(queryId, text);
    return undefined;
  }

  /**
   * Sends a turn's replies while the edits of earlier messages (closing or marking their buttons) run
   * alongside: an edit adds no message, so the order of the chat does not depend on it, and the turn waits for
   * one Bot API call less. Both are done before the turn ends (the chat's next turn may edit the same ones).
   */
  private async alongside(edits: Promise<void>, sending: Promise<void>): Promise<void> {
    const [, sent] = await Promise.allSettled([edits, sending]);
    if (sent.status === 'rejected') throw sent.reason;
  }

  /**
   * Changes the buttons of several messages one after the other (up to 17 after many re-prompts: at once,
   * they would be a burst Telegram answers with 429). Never throws.
   */
  private async setKeyboards(chatId: number, changes: [number, InlineKeyboard][]): Promise<void> {
    for (const [id, keyboard] of changes) await this.setKeyboard(chatId, id, keyboard);
  }

  /** Changes the buttons of a message (none: closed); a failure is counted and logged, never thrown. */
  private async setKeyboard(chatId: number, messageId: number, keyboard: InlineKeyboard): Promise<void> {
    try {
      await this.telegram.editMessageReplyMarkup(chatId, messageId, undefined, {
        inline_keyboard: keyboard,
      });
    } catch (err) {
      this.apiFailed('editMessageReplyMarkup', err);
    }
  }

  /**
   * In one statement: records a change of the conversation's channel data (no-op once the conversation is
   * gone), confirms the outbox entry of the update whose replies were just sent, and keeps the ids of the
   * messages exchanged in the message trail for /effacer (kept even when the conversation is over).
   */
  private async remember(userId: string, change: DataChange, delivered?: number, messageIds?: number[]) {
    const empty = !change.ids?.length && !change.codes && change.keyboard === undefined;
    if (empty && delivered === undefined && !messageIds?.length) return;
    try {
      await this.options.service.recordChannelData(
        CHANNEL,
        userId,
        empty ? undefined : { ...change },
        delivered === undefined ? undefined : String(delivered),
        messageIds,
      );
    } catch (err) {
      // The turn is committed and answered; losing these ids only means /effacer deletes fewer messages.
      this.options.logger.warn({ err }, 'telegram message ids not stored');
    }
  }

  private async forget(userId: string): Promise<void> {
    await this.options.service.forget(CHANNEL, userId);
  }

  /**
   * Sends replies in order, then keeps their ids (and the user's message they answer) for /effacer. Stops
   * (and forgets) if the user blocked the bot.
   */
  private async sendReplies(
    chatId: number,
    userId: string,
    replies: Reply[],
    lang: Lang,
    /** Whether the conversation's live keyboard and short codes are updated (not after an erase). */
    remember = true,
    /** The update whose replies these are: confirmed delivered (outbox) once all are sent. */
    delivered?: number,
    /** The user's message these replies answer. */
    incoming?: number,
    /** Sent right after the first reply (the welcome): the Mini App offer of a new conversation. */
    afterFirst?: OutgoingMessage,
    /** Earlier copies of the question asked again, left live (see `TelegramData.open`). */
    open?: number[],
  ) {
    const sent: number[] = [];
    let codes: Record<string, [string, string]> | undefined;
    let keyboard: number | undefined;
    let step: string | undefined;
    try {
      for (const { message: m, reply } of oneMessageWhereItFits(replies, lang, afterFirst)) {
        const id = await this.send(chatId, m.html, m.keyboard);
        if (id !== undefined) sent.push(id);
        if (id !== undefined && m.keyboard && !m.standing) {
          keyboard = id;
          step = reply.type === 'choices' && !reply.multi ? reply.stepId : undefined;
        }
        if (m.shortCodes) codes = { ...(codes ?? {}), ...m.shortCodes };
      }
    } catch (err) {
      if (err instanceof BlockedError) {
        await this.forget(userId);
        return;
      }
      throw err;
    }
    await this.remember(
      userId,
      remember
        ? {
            ...(codes ? { codes } : {}),
            ...(keyboard ? { keyboard, ...(step ? { step } : {}), ...(step && open ? { open } : {}) } : {}),
          }
        : {},
      delivered,
      incoming === undefined ? sent : [incoming, ...sent],
    );
  }

  /** In a group, supergroup or channel: say once that the bot works in private only, then leave. */
  private async leaveGroup(updateId: number, chatId: number, user: User | undefined): Promise<void> {
    if (!this.firstSeen(updateId)) return;
    const lang = langOf(user?.language_code, this.options.defaultLang);
    try {
      await this.telegram.sendMessage(chatId, TEXTS[lang].privateOnly);
    } catch (err) {
      this.apiFailed('sendMessage', err);
    }
    try {
      await this.telegram.leaveChat(chatId);
    } catch (err) {
      this.apiFailed('leaveChat', err);
    }
  }

  // --- updates -----------------------------------------------------------------------------------------

  private async onMessage(updateId: number, msg: Message): Promise<void> {
    if (msg.chat.type !== 'private') return this.leaveGroup(updateId, msg.chat.id, msg.from);
    const from = msg.from;
    if (!from || from.is_bot) return;
    const chatId = msg.chat.id;
    if (!this.admit(from, chatId)) return;
    const userId = String(from.id);
    const locale = from.language_code;
    if (!('text' in msg) || typeof msg.text !== 'string') {
      return this.inChatOrder(chatId, async () => {
        if (!this.firstSeen(updateId)) return;
        const lang = langOf(locale, this.options.defaultLang);
        try {
          const id = await this.send(chatId, TEXTS[lang].nonText);
          // Only the two message ids, for /effacer: a photo sent here may be what most needs deleting.
          await this.remember(
            userId,
            {},
            undefined,
            id === undefined ? [msg.message_id] : [msg.message_id, id],
          );
        } catch (err) {
          if (err instanceof BlockedError) await this.forget(userId);
          else throw err;
        }
      });
    }
    const text = msg.text;
    const start = START.exec(text.trim());
    const now = this.now();
    const turn: Turn = start
      ? {
          kind: 'start',
          now,
          ...(start[1] ? { payload: start[1] } : {}),
          ...(locale ? { locale } : {}),
          capabilities: CAPABILITIES,
        }
      : { kind: 'text', now, text, ...(locale ? { locale } : {}), capabilities: CAPABILITIES };
    return this.inChatOrder(chatId, async () => {
      let live: LiveKeyboards = {};
      const outcome = await this.options.service.handleTurn({
        channel: CHANNEL,
        platformUserId: userId,
        turn,
        eventId: String(updateId),
        notifyAddress: String(chatId),
        outbox: true,
        channelData: (prev) => {
          live = liveKeyboards(prev);
          return changed(prev, { keyboard: null });
        },
      });
      // The turn's replies, answering this message and confirming this update once sent.
      const send = (afterFirst?: OutgoingMessage, open?: number[]) =>
        this.sendReplies(
          chatId,
          userId,
          outcome.replies,
          outcome.lang,
          true,
          updateId,
          msg.message_id,
          afterFirst,
          open,
        );
      if (outcome.duplicate) {
        // Replies of the first delivery that were never confirmed sent (the instance died): send them now.
        if (outcome.replies.length > 0) await send();
        return;
      }
      if (outcome.erased) return this.erase(chatId, userId, outcome, msg.message_id);
      let open: number[] | undefined;
      let closed: number[];
      if (live.keyboard !== undefined && live.step !== undefined && asksAgain(outcome, live.step)) {
        // The same question asked again (a re-prompt): its earlier copy keeps its buttons, which answer the
        // same question (the engine takes a press on either); all are closed once it is answered.
        open = [...(live.open ?? []), live.keyboard];
        closed = open.splice(0, Math.max(0, open.length - MAX_OPEN));
      } else {
        // Answered by typing: the buttons of the question before are closed, so they cannot be replayed.
        closed = allOf(live);
      }
      const edits = this.setKeyboards(
        chatId,
        closed.map((id) => [id, []]),
      );
      // A new conversation (private chats only, as everything here): its welcome offers the Mini App.
      const url = outcome.started
        ? miniAppUrl(this.options.publicUrl, outcome.started.flowId, outcome.lang)
        : undefined;
      await this.alongside(edits, send(url ? miniAppMessage(url, outcome.lang) : undefined, open));
    });
  }

  /**
   * /effacer (or the "Effacer cette conversation" button): deletes every message of the chat the service
   * kept an id of (the user's and ours, during and after the conversation, for 48 h), then says what was
   * deleted, what could not be, and that the chat itself stays in Telegram's list.
   */
  private async erase(chatId: number, userId: string, outcome: TurnOutcome, commandId: number) {
    const trail = (outcome.erasable ?? []).filter((id): id is number => typeof id === 'number');
    const known = asData(outcome.previousChannelData).ids ?? [];
    const ids = [...new Set([...trail, ...known, commandId])].sort((a, b) => a - b);
    let deleted = 0;
    let failed = 0;
    for (const id of ids) {
      try {
        await this.telegram.deleteMessage(chatId, id);
        deleted += 1;
      } catch (err) {
        failed += 1;
        this.apiFailed('deleteMessage', err);
      }
    }
    const t = TEXTS[outcome.lang];
    const lines = [t.eraseDone(deleted)];
    if (failed > 0) lines.push(t.eraseFailed(failed));
    lines.push(t.eraseAdvice);
    const replies: Reply[] = [...outcome.replies, { type: 'text', text: lines.join('\n') }];
    // The confirmation goes into the trail too: a later /effacer deletes it.
    await this.sendReplies(chatId, userId, replies, outcome.lang, false);
  }

  private async onEdited(updateId: number, msg: Message): Promise<void> {
    if (msg.chat.type !== 'private') return this.leaveGroup(updateId, msg.chat.id, msg.from);
    const from = msg.from;
    if (!from || from.is_bot || !this.admit(from, msg.chat.id)) return;
    const chatId = msg.chat.id;
    return this.inChatOrder(chatId, async () => {
      if (!this.firstSeen(updateId)) return;
      const lang = langOf(from.language_code, this.options.defaultLang);
      try {
        const id = await this.send(chatId, TEXTS[lang].edited);
        await this.remember(
          String(from.id),
          {},
          undefined,
          id === undefined ? [msg.message_id] : [msg.message_id, id],
        );
      } catch (err) {
        if (err instanceof BlockedError) await this.forget(String(from.id));
        else throw err;
      }
    });
  }

  private async onPress(
    updateId: number,
    query: CallbackQuery,
    viaWebhook: boolean,
  ): Promise<WebhookCall | undefined> {
    const msg = query.message;
    const closed = TEXTS[langOf(query.from.language_code, this.options.defaultLang)].closed;
    if (msg?.chat.type !== 'private') return this.answerPress(query.id, closed, viaWebhook);
    const chatId = msg.chat.id;
    if (!this.admit(query.from, chatId)) return this.answerPress(query.id, undefined, viaWebhook);
    const userId = String(query.from.id);
    const data = 'data' in query ? query.data : undefined;
    const press = decodePress(data);
    return this.inChatOrder(chatId, async () => {
      let stepId: string;
      let optionId: string;
      if (press.kind === 'closed') return this.answerPress(query.id, closed, viaWebhook);
      if (press.kind === 'short') {
        const found = await this.lookupCode(userId, press.code);
        if (!found) {
          const answer = await this.answerPress(query.id, closed, viaWebhook);
          await this.setKeyboard(chatId, msg.message_id, []);
          return answer;
        }
        [stepId, optionId] = found;
      } else {
        ({ stepId, optionId } = press);
      }
      let live: LiveKeyboards = {};
      const outcome = await this.options.service.handleTurn({
        channel: CHANNEL,
        platformUserId: userId,
        turn: { kind: 'choice', now: this.now(), stepId, optionId, capabilities: CAPABILITIES },
        eventId: String(updateId),
        notifyAddress: String(chatId),
        outbox: true,
        channelData: (prev) => {
          live = liveKeyboards(prev);
          return changed(prev, { keyboard: null });
        },
      });
      if (outcome.erased) {
        // The pressed message is deleted with the rest: no keyboard to close.
        const answer = await this.answerPress(query.id, undefined, viaWebhook);
        await this.erase(chatId, userId, outcome, msg.message_id);
        return answer;
      }
      if (outcome.duplicate) {
        const answer = await this.answerPress(query.id, undefined, viaWebhook);
        if (outcome.replies.length > 0) {
          await this.sendReplies(chatId, userId, outcome.replies, outcome.lang, true, updateId);
        }
        return answer;
      }
      if (isStale(outcome)) {
        // An earlier question: nothing changed; close that keyboard so it is not pressed again.
        const answer = await this.answerPress(query.id, TEXTS[outcome.lang].closed, viaWebhook);
        await this.setKeyboard(chatId, msg.message_id, []);
        // The current question's keyboards stay live; the engine's reply is not sent (confirmed).
        const open = live.open?.filter((id) => id !== msg.message_id);
        await this.remember(
          userId,
          live.keyboard !== undefined && live.keyboard !== msg.message_id
            ? {
                keyboard: live.keyboard,
                ...(live.step ? { step: live.step } : {}),
                ...(open?.length ? { open } : {}),
              }
            : {},
          updateId,
        );
        return answer;
      }
      // The spinner on the button stops when the press is answered: after the replies, via the webhook.
      const answer = await this.answerPress(query.id, undefined, viaWebhook);
      const first = outcome.replies[0];
      if (
        outcome.replies.length === 1 &&
        first?.type === 'choices' &&
        first.multi &&
        first.stepId === stepId &&
        !optionId.startsWith('$')
      ) {
        // A toggle of a multiple choice: the same keyboard, edited in place.
        const { keyboard, shortCodes } = keyboardFor(first);
        await this.setKeyboards(chatId, [
          [msg.message_id, keyboard],
          ...allOf(live)
            .filter((id) => id !== msg.message_id)
            .map((id): [number, InlineKeyboard] => [id, []]),
        ]);
        await this.remember(
          userId,
          { keyboard: msg.message_id, ...(shortCodes ? { codes: shortCodes } : {}) },
          updateId,
        );
        return answer;
      }
      // The pressed message shows the answer chosen, the other live buttons close, while the replies go.
      const edits = this.setKeyboards(chatId, [
        [msg.message_id, answeredKeyboard(this.chosenLabels(msg, data, optionId))],
        ...allOf(live)
          .filter((id) => id !== msg.message_id)
          .map((id): [number, InlineKeyboard] => [id, []]),
      ]);
      await this.alongside(
        edits,
        this.sendReplies(chatId, userId, outcome.replies, outcome.lang, true, updateId),
      );
      return answer;
    });
  }

  /** What the pressed keyboard shows as chosen: the ticked options, else the pressed button. */
  private chosenLabels(
    msg: NonNullable<CallbackQuery['message']>,
    data: string | undefined,
    optionId: string,
  ): string[] {
    const markup = 'reply_markup' in msg ? msg.reply_markup : undefined;
    const buttons = (markup?.inline_keyboard ?? []).flat();
    const ticked = buttons.filter((b) => b.text.startsWith('✓ ')).map((b) => b.text.slice(2));
    if (optionId === '$done' && ticked.length > 0) return ticked;
    const pressed = buttons.find((b) => 'callback_data' in b && b.callback_data === data);
    return pressed ? [pressed.text] : [];
  }

  /** Resolves a short callback code from the conversation's channel data. */
  private async lookupCode(userId: string, code: string): Promise<[string, string] | undefined> {
    return asData(await this.options.service.channelDataOf(CHANNEL, userId)).codes?.[code];
  }

  private async onMembership(updateId: number, change: Update.MyChatMemberUpdate['my_chat_member']) {
    const status = change.new_chat_member.status;
    if (change.chat.type !== 'private') {
      // Added to a group or channel: say it once and leave.
      if (status === 'member' || status === 'administrator') {
        return this.leaveGroup(updateId, change.chat.id, change.from);
      }
      return;
    }
    // The user blocked the bot: forget the conversation (nothing can be sent any more).
    if (status === 'kicked') await this.forget(String(change.from.id));
  }
}
