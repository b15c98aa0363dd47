/**
 * The Teams turn logic: translates a validated activity into the service's turns and renders the outcome.
 * Only personal (1:1) chats run flows; in a group chat or a channel the bot explains once and stores
 * nothing. `/lier CODE` (or `/link CODE`) is intercepted here, before the engine, to link a coordinator's
 * chat for new-case notices. Teams user ids reach the service only as the raw id it hashes, activity ids
 * only as a digest of (conversation, activity id) that it hashes again; nothing here logs or stores them.
 */
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { AppConfig } from '../../config/index.js';
import { hashUserId, sealContact } from '../../crypto/index.js';
import type { Capabilities, Lang, Reply, Turn } from '../../engine/index.js';
import type { Intake, TurnOutcome } from '../../intake/index.js';
import { WindowLimiter } from '../../intake/limiter.js';
import type { Metrics } from '../../metrics.js';
import { consumeTeamsLinkCode, type Database, markEventProcessed, saveTeamsLink } from '../../store/index.js';
import { chatPageUrl } from '../../webflow/url.js';
import type { Activity, TurnContext } from './adapter.js';
import { isLinkCodeShape, linkCodeHash } from './link.js';
import { FLOW_CHOICE_STEP, renderDialogOffer, renderReplies, renderWelcome, textMessage } from './render.js';
import { type CardSubmit, checkDialogFetch, type InboundActivity } from './schemas.js';
import { langOf, TEAMS_TEXTS } from './texts.js';

/** The channel kind, as stored with conversations and reports. */
export const CHANNEL = 'teams';
// The bot can delete its own activities (not the user's messages): /effacer and the youth flow's button.
const CAPABILITIES: Capabilities = { buttons: true, deleteMessages: true };
/** The largest conversation reference a link can seal (sealContact's limit). */
const MAX_REFERENCE_BYTES = 512;
const LINK_COMMAND = /^\/(lier|link)(?:\s+(.*))?$/i;
const START_COMMAND = /^\/(start|demarrer|démarrer)(?:\s+(\S+))?\s*$/i;

export interface TeamsBotDeps {
  config: AppConfig;
  db: Database;
  pipeline: Intake;
  metrics: Metrics;
}

/** A short-lived memory of conversations already told something (welcome, group refusal): no database. */
class RecentSet {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 10_000,
  ) {}
  /** True the first time `key` is seen within the ttl. */
  first(key: string, now: number): boolean {
    const at = this.seen.get(key);
    if (at !== undefined && now - at < this.ttlMs) return false;
    if (this.seen.size >= this.max) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.delete(key);
    this.seen.set(key, now);
    return true;
  }
}

/**
 * The id under which an activity is deduplicated. Teams activity ids are unique only within a conversation:
 * two users' activities can share one, and both must be answered. So the key covers (conversation id,
 * activity id). Both are printable ASCII (schemas.ts), so a newline between them is unambiguous; the pair
 * can reach 512 bytes while the service's keyed hash takes 256 at most, hence this fixed-length digest.
 * It is an intermediate only: the service stores just its keyed hash, never this value, never the ids.
 */
export function activityEventId(a: Pick<InboundActivity, 'id' | 'conversation'>): string {
  return createHash('sha256').update(a.conversation.id).update('\n').update(a.id!).digest('hex');
}

/**
 * The Teams user: `from.aadObjectId` when there is one, else `from.id`. An empty aadObjectId counts as none
 * (the fuzzer found that one reached the keyed hash, which refuses empty input, as a 500).
 */
export function teamsUserId(a: Pick<InboundActivity, 'from'>): string {
  return a.from.aadObjectId || a.from.id;
}

function splitIds(list: string | undefined): Set<string> {
  return new Set((list ?? '').split(',').filter(Boolean));
}

export class TeamsBot {
  private readonly linkPerUser = new WindowLimiter(5, 15 * 60_000);
  private readonly linkGlobal = new WindowLimiter(60, 60_000);
  // Teams sends both conversationUpdate and installationUpdate on install: welcome once.
  private readonly welcomed = new RecentSet(60_000);
  // Group chats are told once per process; nothing about them is stored.
  private readonly groupsTold = new RecentSet(24 * 3600_000);

  constructor(private readonly deps: TeamsBotDeps) {}

  private get defaultLang(): Lang {
    return this.deps.config.languages.default;
  }

  /** A keyed hash of a conversation id, for the in-memory sets above (never the id itself). */
  private conversationKey(a: InboundActivity): string {
    return hashUserId(this.deps.pipeline.keyring.current, 'teams:conversation', a.conversation.id);
  }

  /** Runs one activity. Throws DatabaseUnavailableError (the route answers 503) when the database fails. */
  async onTurn(ctx: TurnContext, a: InboundActivity, log: Logger): Promise<void> {
    const lang = langOf(a.locale, this.defaultLang);
    const personal =
      (a.conversation.conversationType ?? 'personal') === 'personal' && a.conversation.isGroup !== true;
    const now = Date.now();
    switch (a.type) {
      case 'conversationUpdate':
      case 'installationUpdate': {
        const added =
          a.type === 'conversationUpdate'
            ? (a.membersAdded ?? []).some((m) => m.id === a.recipient.id)
            : !a.action || a.action.startsWith('add');
        if (a.type === 'installationUpdate' && a.action?.startsWith('remove') && personal) {
          // Uninstalled: forget any conversation in progress.
          await this.deps.pipeline.service.forget(CHANNEL, teamsUserId(a));
          return;
        }
        if (!added) return;
        if (!personal) {
          await this.explainGroup(ctx, a, lang, log, now);
          return;
        }
        if (!this.welcomed.first(this.conversationKey(a), now)) return;
        const flows = this.deps.pipeline.flows.list();
        await this.send(
          ctx,
          renderWelcome(lang, {
            professional: flows.find((f) => f.kind === 'professional')?.id,
            youth: flows.find((f) => f.kind === 'youth')?.id,
          }),
          log,
          teamsUserId(a),
        );
        return;
      }
      case 'message':
        break;
      case 'invoke':
        await this.invoke(ctx, a, lang, personal);
        return;
      default:
        // typing, reactions, invokes...: nothing to do.
        return;
    }
    if (!personal) {
      await this.explainGroup(ctx, a, lang, log, now);
      return;
    }
    const userId = teamsUserId(a);
    const text = a.text?.trim() ?? '';
    if (a.value === undefined) {
      const link = LINK_COMMAND.exec(text);
      if (link) {
        await this.link(ctx, a, userId, link[2]?.trim() ?? '', lang, log, now);
        return;
      }
    }

    // Typing indicator while the turn runs (best effort, never delays or fails the turn).
    const typing = ctx.sendActivity({ type: 'typing' }).catch(() => undefined);
    let outcome: TurnOutcome;
    // Every event id this activity used: their replies are confirmed sent together (outbox).
    const events: string[] = [];
    if (a.value !== undefined) {
      outcome = await this.submitTurns(userId, a, a.value as CardSubmit, now, events);
    } else {
      const eventId = activityEventId(a);
      events.push(eventId);
      outcome = await this.deps.pipeline.service.handleTurn({
        channel: CHANNEL,
        platformUserId: userId,
        eventId,
        outbox: true,
        turn: this.textTurn(text, a.locale, now),
      });
    }
    await typing;
    if (outcome.duplicate && outcome.replies.length === 0) {
      log.info({ channel: CHANNEL }, 'duplicate activity ignored');
      return;
    }
    if (outcome.erased) {
      await this.erase(ctx, outcome, userId, log);
      return;
    }
    // A duplicate with replies: they were committed by a delivery that died before sending them.
    const activities = renderReplies(outcome.replies, outcome.lang);
    // A new conversation: right after its welcome, the offer to answer in a dialog (sealed on the device).
    const offer = outcome.started ? this.dialogOffer(outcome.started.flowId, outcome.lang) : undefined;
    if (offer) activities.splice(1, 0, offer);
    if (await this.send(ctx, activities, log, userId)) {
      await this.deps.pipeline.service.confirmDelivered(CHANNEL, userId, events);
    }
  }

  /** The dialog card for a flow, when the page can be opened (an https PUBLIC_URL); else undefined. */
  private dialogOffer(flowId: string, lang: Lang): Partial<Activity> | undefined {
    return chatPageUrl(this.deps.config.publicUrl, flowId, lang, 'teams')
      ? renderDialogOffer(lang, flowId)
      : undefined;
  }

  /**
   * The dialog's invokes. `task/fetch` (the dialog card's action) answers a `continue` task whose url is the
   * web flow, so the person answers in a page that seals on the device; in a group chat, with an unknown
   * flow or without an https PUBLIC_URL, a `message` task says why instead. `task/submit` (the page closes
   * the dialog with no result) closes it. Nothing is stored for either. Other invokes get no response
   * (botbuilder's 501, which the route turns into a 400).
   */
  private async invoke(ctx: TurnContext, a: InboundActivity, lang: Lang, personal: boolean): Promise<void> {
    const t = TEAMS_TEXTS[lang];
    if (a.name === 'task/submit') {
      await ctx.sendActivity({ type: 'invokeResponse', value: { status: 200 } });
      return;
    }
    if (a.name !== 'task/fetch') return;
    const asked = checkDialogFetch(a.value);
    const flowId = asked.ok ? asked.flowId : undefined;
    const known = flowId !== undefined && this.deps.pipeline.flows.list().some((f) => f.id === flowId);
    const url =
      personal && known ? chatPageUrl(this.deps.config.publicUrl, flowId, lang, 'teams') : undefined;
    const task = url
      ? {
          type: 'continue',
          value: { title: t.dialogTitle, url, fallbackUrl: url, height: 'large', width: 'medium' },
        }
      : { type: 'message', value: personal ? t.dialogUnavailable : t.groupRefusal };
    await ctx.sendActivity({ type: 'invokeResponse', value: { status: 200, body: { task } } });
  }

  /**
   * /effacer (or the youth flow's "Effacer cette conversation" button): deletes every activity the bot sent
   * in this chat that the service kept an id of (during and after the conversation, for 48 h), then says
   * honestly that Teams does not let a bot delete the user's own messages.
   */
  private async erase(ctx: TurnContext, outcome: TurnOutcome, userId: string, log: Logger): Promise<void> {
    let deleted = 0;
    let failed = 0;
    for (const id of outcome.erasable ?? []) {
      try {
        await ctx.deleteActivity(String(id));
        deleted += 1;
      } catch {
        failed += 1;
      }
    }
    if (failed > 0) {
      this.deps.metrics.errors.inc({ kind: 'teams_delete' });
      log.warn({ channel: CHANNEL, failed }, 'teams activities could not be deleted');
    }
    const t = TEAMS_TEXTS[outcome.lang];
    const lines = [t.eraseDone(deleted), ...(failed > 0 ? [t.eraseFailed(failed)] : []), t.eraseLimits];
    await this.send(
      ctx,
      renderReplies([...outcome.replies, { type: 'text', text: lines.join('\n\n') }], outcome.lang),
      log,
      userId,
    );
  }

  private textTurn(text: string, locale: string | undefined, now: number): Turn {
    const start = START_COMMAND.exec(text);
    const loc = locale ? { locale } : {};
    if (start) {
      return {
        kind: 'start',
        now,
        ...(start[2] ? { payload: start[2].toLowerCase() } : {}),
        ...loc,
        capabilities: CAPABILITIES,
      };
    }
    return { kind: 'text', now, text, ...loc, capabilities: CAPABILITIES };
  }

  /**
   * A card submission. The flow choice of the welcome card starts a flow; a multiple choice's "Valider"
   * carries the whole selection, replayed as toggles (each its own event id, so a redelivery is idempotent)
   * then `$done`; anything else is one choice turn.
   */
  private async submitTurns(
    userId: string,
    a: InboundActivity,
    submit: CardSubmit,
    now: number,
    events: string[],
  ): Promise<TurnOutcome> {
    const service = this.deps.pipeline.service;
    const base = { channel: CHANNEL, platformUserId: userId, outbox: true };
    const activityId = activityEventId(a);
    if (submit.stepId === FLOW_CHOICE_STEP) {
      events.push(activityId);
      return service.handleTurn({
        ...base,
        eventId: activityId,
        turn: {
          kind: 'start',
          now,
          payload: submit.optionId,
          ...(a.locale ? { locale: a.locale } : {}),
          capabilities: CAPABILITIES,
        },
      });
    }
    const choice = (optionId: string, eventId: string) => {
      events.push(eventId);
      return service.handleTurn({
        ...base,
        eventId,
        turn: { kind: 'choice', now, stepId: submit.stepId, optionId, capabilities: CAPABILITIES },
      });
    };
    if (submit.optionId !== '$done' || submit.selection === undefined)
      return choice(submit.optionId, activityId);

    const desired = splitIds(submit.selection);
    let current = splitIds(submit.initial);
    // Bounded: one toggle per option at most, then $done.
    for (let i = 0; i < 64; i++) {
      const diff = [...new Set([...desired, ...current])]
        .filter((id) => desired.has(id) !== current.has(id))
        .sort();
      const optionId = diff[0] ?? '$done';
      const outcome = await choice(optionId, `${activityId}#${i}`);
      if (optionId === '$done') return outcome;
      if (outcome.duplicate) {
        // Already applied by an earlier delivery: assume it did what was planned.
        current = new Set(current);
        if (current.has(optionId)) current.delete(optionId);
        else current.add(optionId);
        continue;
      }
      const again = outcome.replies.find(
        (r): r is Extract<Reply, { type: 'choices' }> =>
          r.type === 'choices' && r.multi && r.stepId === submit.stepId,
      );
      // Not the same multiple choice any more (old card, unknown option): show what the engine said.
      if (!again) return outcome;
      const next = new Set(again.options.filter((o) => o.selected).map((o) => o.id));
      if (next.has(optionId) === current.has(optionId)) return outcome; // the toggle did not apply
      current = next;
    }
    return choice('$done', `${activityId}#done`);
  }

  /** `/lier CODE`: consumes the one-time code and stores this chat's reference, sealed, for notices. */
  private async link(
    ctx: TurnContext,
    a: InboundActivity,
    userId: string,
    code: string,
    lang: Lang,
    log: Logger,
    now: number,
  ): Promise<void> {
    const t = TEAMS_TEXTS[lang];
    const { db, pipeline, metrics } = this.deps;
    const userHash = pipeline.service.userHash(CHANNEL, userId);
    if (!this.linkPerUser.take(userHash, now) || !this.linkGlobal.take('all', now)) {
      metrics.errors.inc({ kind: 'teams_link_throttled' });
      await this.send(ctx, [textMessage(t.linkThrottled)], log, userId);
      return;
    }
    // Only what a notice needs: no user id, no name.
    const reference = {
      channelId: a.channelId,
      serviceUrl: a.serviceUrl,
      conversation: {
        id: a.conversation.id,
        conversationType: 'personal',
        ...(a.conversation.tenantId ? { tenantId: a.conversation.tenantId } : {}),
      },
      bot: { id: a.recipient.id },
    };
    const json = JSON.stringify(reference);
    if (Buffer.byteLength(json, 'utf8') > MAX_REFERENCE_BYTES) {
      metrics.errors.inc({ kind: 'teams_link_too_long' });
      await this.send(ctx, [textMessage(t.linkTooLong)], log, userId);
      return;
    }
    const keyring = pipeline.keyring;
    const result = await db.transaction(async (tx) => {
      const eventHash = hashUserId(keyring.current, `${CHANNEL}:event`, activityEventId(a));
      if (!(await markEventProcessed(tx, CHANNEL, eventHash))) return 'duplicate' as const;
      if (!isLinkCodeShape(code)) return 'refused' as const;
      const coordinatorId = await consumeTeamsLinkCode(
        tx,
        keyring.all.map((k) => linkCodeHash(k, code)),
        new Date(now),
      );
      if (!coordinatorId) return 'refused' as const;
      await saveTeamsLink(tx, { coordinatorId, referenceSealed: sealContact(keyring.current, json) });
      return 'linked' as const;
    });
    if (result === 'duplicate') return;
    if (result === 'refused') {
      metrics.errors.inc({ kind: 'teams_link_refused' });
      log.info({ channel: CHANNEL }, 'teams link refused');
      await this.send(ctx, [textMessage(t.linkRefused)], log, userId);
      return;
    }
    log.info({ channel: CHANNEL }, 'teams account linked');
    await this.send(ctx, [textMessage(t.linked)], log, userId);
  }

  private async explainGroup(ctx: TurnContext, a: InboundActivity, lang: Lang, log: Logger, now: number) {
    if (!this.groupsTold.first(this.conversationKey(a), now)) return;
    await this.send(ctx, [textMessage(TEAMS_TEXTS[lang].groupRefusal)], log);
  }

  /**
   * Sends activities in order; false when Teams could not be reached. The failure is logged, not thrown: the
   * turn is committed, its replies stay in the outbox and a redelivery of the activity sends them. With a
   * user (a personal chat), the ids of the activities sent are kept in the message trail for /effacer.
   */
  private async send(
    ctx: TurnContext,
    activities: Partial<Activity>[],
    log: Logger,
    userId?: string,
  ): Promise<boolean> {
    if (activities.length === 0) return true;
    let ids: string[];
    try {
      const sent = await ctx.sendActivities(activities);
      ids = sent.map((r) => r?.id).filter((id): id is string => typeof id === 'string' && id.length > 0);
    } catch (err) {
      this.deps.metrics.errors.inc({ kind: 'teams_send' });
      log.warn({ err, channel: CHANNEL }, 'teams reply could not be sent');
      return false;
    }
    if (userId !== undefined && ids.length > 0) {
      try {
        await this.deps.pipeline.service.recordMessages(CHANNEL, userId, ids);
      } catch (err) {
        // Sent and committed; losing these ids only means /effacer deletes fewer messages.
        log.warn({ err, channel: CHANNEL }, 'teams activity ids not stored');
      }
    }
    return true;
  }
}
