/**
 * Contentless new-case notices to linked coordinators in Teams. A notice names only the case reference,
 * the inbox and the urgency: never an answer. Immediate-danger cases go out at once; the others are grouped
 * per inbox over a configurable interval (0 = at once). Pending notices live in memory: if the process
 * stops before a batch goes out, the cases are still in the inbox queue, only the nudge is lost.
 */
import type { FastifyBaseLogger as Logger } from 'fastify';
import { openContact } from '../../crypto/index.js';
import type { Urgency } from '../../engine/index.js';
import type { Keyring } from '../../intake/index.js';
import type { Metrics } from '../../metrics.js';
import { type Database, teamsLinksForInbox } from '../../store/index.js';
import type { ConversationReference } from './adapter.js';
import { withBotbuilderLogs } from './shim.js';
import { TEAMS_TEXTS } from './texts.js';

/** What a notice may carry: queue metadata only. */
export interface CaseNotice {
  reference: string;
  inbox: string;
  urgency: Urgency;
}

/** Sends one text to a stored conversation reference (the adapter's continueConversationAsync). */
export type SendProactive = (reference: Partial<ConversationReference>, text: string) => Promise<void>;

export interface NotifierDeps {
  db: Database;
  keyring: Keyring;
  logger: Logger;
  metrics: Metrics;
  send: SendProactive;
  /** Inbox id -> display name. */
  inboxName: (inboxId: string) => string;
  batchSeconds: number;
}

export class TeamsNotifier {
  private readonly pending = new Map<string, CaseNotice[]>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: NotifierDeps) {}

  /** Queues (or sends at once) the notice of a new case. Never throws. */
  notify(notice: CaseNotice): void {
    if (notice.urgency === 'immediate' || this.deps.batchSeconds === 0) {
      this.track(this.deliver(notice.inbox, [notice]));
      return;
    }
    const list = this.pending.get(notice.inbox) ?? [];
    list.push(notice);
    this.pending.set(notice.inbox, list);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.track(this.flush());
      }, this.deps.batchSeconds * 1000);
      this.timer.unref();
    }
  }

  /** Sends every pending batch now. */
  async flush(): Promise<void> {
    const batches = [...this.pending.entries()];
    this.pending.clear();
    await Promise.all(batches.map(([inbox, list]) => this.deliver(inbox, list)));
  }

  /** Stops the timer, sends what is pending and waits for sends in flight. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    await Promise.all([...this.inFlight]);
  }

  /** Resolves when nothing is being sent (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    p.finally(() => this.inFlight.delete(p));
  }

  private async deliver(inbox: string, notices: CaseNotice[]): Promise<void> {
    const { db, keyring, logger, metrics, send } = this.deps;
    const t = TEAMS_TEXTS.fr;
    const name = this.deps.inboxName(inbox);
    const text =
      notices.length === 1
        ? t.noticeOne(notices[0]!.reference, name, notices[0]!.urgency)
        : t.noticeMany(name, notices);
    let links: Awaited<ReturnType<typeof teamsLinksForInbox>>;
    try {
      links = await teamsLinksForInbox(db, inbox);
    } catch (err) {
      metrics.errors.inc({ kind: 'teams_notice' });
      logger.warn({ err, inbox }, 'teams notices not sent: links could not be read');
      return;
    }
    await Promise.all(
      links.map(async (link) => {
        try {
          const reference = JSON.parse(
            openContact(keyring.all, link.reference_sealed),
          ) as ConversationReference;
          await withBotbuilderLogs(logger, () => send(reference, text));
          logger.info({ inbox, count: notices.length }, 'teams notice sent');
        } catch (err) {
          metrics.errors.inc({ kind: 'teams_notice' });
          logger.warn({ err, inbox }, 'teams notice failed');
        }
      }),
    );
  }
}
