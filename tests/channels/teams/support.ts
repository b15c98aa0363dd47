/**
 * Test support for the Teams channel: a fake Bot Connector on 127.0.0.1 (the activities' serviceUrl) that
 * records what the bot sends, and a scripted Teams client that posts Teams-shaped activities to the app
 * over real HTTP and clicks the buttons of the cards it received.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** One call the bot made to the connector. */
export interface ConnectorCall {
  method: string;
  path: string;
  conversationId: string;
  replyToId?: string;
  /** The activity id this fake connector gave back for a POST (what Teams would assign). */
  id?: string;
  // biome-ignore lint/suspicious/noExplicitAny: activities are free-form JSON inspected by the tests
  body: any;
}

export class FakeConnector {
  readonly calls: ConnectorCall[] = [];
  private server: Server | undefined;
  private counter = 0;
  /** When set, every call answers this status (simulates Teams being unreachable). */
  failWith: number | undefined;

  get serviceUrl(): string {
    if (!this.server) throw new Error('fake connector not started');
    const port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${port}/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        raw += c;
      });
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
        if (!m) {
          res.writeHead(404).end();
          return;
        }
        const call: ConnectorCall = {
          method: req.method ?? '',
          path: url.pathname,
          conversationId: decodeURIComponent(m[1]!),
          ...(m[2] ? { replyToId: decodeURIComponent(m[2]) } : {}),
          body: raw ? JSON.parse(raw) : undefined,
        };
        this.calls.push(call);
        if (this.failWith) {
          res.writeHead(this.failWith).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        if (call.method === 'POST') call.id = `bot-activity-${++this.counter}`;
        res.end(JSON.stringify(call.method === 'POST' ? { id: call.id } : {}));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Messages (not typing) sent to a conversation, in order. */
  messages(conversationId?: string): ConnectorCall[] {
    return this.calls.filter(
      (c) => c.body?.type === 'message' && (!conversationId || c.conversationId === conversationId),
    );
  }

  /** Ids of the bot's activities deleted in a conversation (DELETE /v3/conversations/{id}/activities/{id}). */
  deleted(conversationId: string): string[] {
    return this.calls
      .filter((c) => c.method === 'DELETE' && c.conversationId === conversationId && c.replyToId)
      .map((c) => c.replyToId!);
  }

  typing(conversationId: string): ConnectorCall[] {
    return this.calls.filter((c) => c.body?.type === 'typing' && c.conversationId === conversationId);
  }

  /** Waits until `predicate` holds (notices are sent after the turn's response). */
  async waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > until) throw new Error('fake connector: timed out waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A unique, greppable marker. */
export function marker(label: string): string {
  return `CANARY${label}${randomBytes(6).toString('hex')}`;
}

// biome-ignore lint/suspicious/noExplicitAny: Adaptive Card JSON
type Json = any;

/** The Adaptive Card of a message, if any. */
export function cardOf(call: ConnectorCall): Json | undefined {
  return call.body?.attachments?.find(
    (a: Json) => a.contentType === 'application/vnd.microsoft.card.adaptive',
  )?.content;
}

/** Every Action.Submit of a card (body ActionSets and card actions). */
export function submitsOf(card: Json): { title: string; data: Json }[] {
  const out: { title: string; data: Json }[] = [];
  const visit = (node: Json) => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (node.type === 'Action.Submit') out.push({ title: node.title, data: node.data });
    for (const v of Object.values(node)) visit(v);
  };
  visit(card);
  return out;
}

export interface TeamsUser {
  /** from.id (Teams "29:" id). */
  id: string;
  name: string;
  aadObjectId: string;
}

export function newUser(tag = 'U'): TeamsUser {
  return { id: `29:${marker(`${tag}ID`)}`, name: marker(`${tag}NAME`), aadObjectId: marker(`${tag}AAD`) };
}

/** A Teams client in one conversation (personal by default). */
export class TeamsClient {
  readonly conversationId: string;
  readonly botId = `28:${randomUUID()}`;
  constructor(
    private readonly baseUrl: string,
    private readonly connector: FakeConnector,
    readonly user: TeamsUser = newUser(),
    readonly options: { conversationType?: string; locale?: string; authorization?: string } = {},
  ) {
    this.conversationId = `a:${randomBytes(24).toString('base64url')}`;
  }

  activity(fields: Record<string, unknown>): Record<string, unknown> {
    return {
      id: `1:${randomUUID()}`,
      channelId: 'msteams',
      serviceUrl: this.connector.serviceUrl,
      timestamp: new Date().toISOString(),
      locale: this.options.locale ?? 'fr-FR',
      from: { id: this.user.id, name: this.user.name, aadObjectId: this.user.aadObjectId },
      recipient: { id: this.botId, name: 'Intake' },
      conversation: {
        id: this.conversationId,
        conversationType: this.options.conversationType ?? 'personal',
        tenantId: '00000000-0000-4000-8000-000000000001',
        ...(this.options.conversationType && this.options.conversationType !== 'personal'
          ? { isGroup: true }
          : {}),
      },
      channelData: { tenant: { id: '00000000-0000-4000-8000-000000000001' } },
      ...fields,
    };
  }

  /** Posts any body to /api/messages; returns the status and the parsed answer. */
  async post(
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json; headers: Headers }> {
    const res = await fetch(`${this.baseUrl}/api/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.options.authorization ? { authorization: this.options.authorization } : {}),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Json = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  private async expectOk(body: unknown) {
    const r = await this.post(body);
    if (r.status !== 200)
      throw new Error(`POST /api/messages answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r;
  }

  /** The bot was added (personal install). */
  install() {
    return this.expectOk(this.activity({ type: 'conversationUpdate', membersAdded: [{ id: this.botId }] }));
  }

  say(text: string) {
    return this.expectOk(this.activity({ type: 'message', text }));
  }

  submit(value: Record<string, unknown>) {
    return this.expectOk(this.activity({ type: 'message', value }));
  }

  /** An invoke (a dialog's `task/fetch` or `task/submit`); returns the HTTP answer, the invoke response. */
  invoke(name: string, value: unknown) {
    return this.post(this.activity({ type: 'invoke', name, value }));
  }

  /** Messages the bot sent to this conversation. */
  received(): ConnectorCall[] {
    return this.connector.messages(this.conversationId);
  }

  /** The most recent card with submit actions. */
  lastCard(): Json {
    const withCard = this.received().filter((c) => {
      const card = cardOf(c);
      return card && submitsOf(card).length > 0;
    });
    const last = withCard[withCard.length - 1];
    if (!last) throw new Error('no card with buttons received');
    return cardOf(last);
  }

  /** Presses the button whose option id is `optionId` on the latest card. */
  press(optionId: string, card = this.lastCard()) {
    const action = submitsOf(card).find((s) => s.data?.optionId === optionId);
    if (!action) {
      throw new Error(
        `no button ${optionId} on the card (has ${submitsOf(card)
          .map((s) => s.data?.optionId)
          .join(', ')})`,
      );
    }
    return this.submit({ ...action.data });
  }

  /** Ticks `ids` in the latest multiple-choice card and presses its "Valider". */
  choose(ids: string[], card = this.lastCard()) {
    const set = card.body.find((b: Json) => b.type === 'Input.ChoiceSet' && b.isMultiSelect);
    if (!set) throw new Error('the latest card has no multi-select input');
    for (const id of ids) {
      if (!set.choices.some((c: Json) => c.value === id)) throw new Error(`no choice ${id} in the input`);
    }
    const done = submitsOf(card).find((s) => s.data?.optionId === '$done');
    if (!done) throw new Error('no Valider button');
    return this.submit({ ...done.data, [set.id]: ids.join(',') });
  }

  /** Texts of every message received (activity text), joined. */
  transcript(): string {
    return this.received()
      .map((c) => c.body.text ?? '')
      .join('\n---\n');
  }
}

/** Starts the app on a real port on 127.0.0.1; returns its base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${address.port}`;
}

/** Walks the professional flow through cards (and typed text where the flow asks for text). */
export async function professionalByCards(
  c: TeamsClient,
  options: { danger?: boolean } = {},
): Promise<{ reference: string; markers: string[] }> {
  const structure = marker('STRUCT');
  // A French number (the flow checks the shape): 01 then eight random digits.
  const phone = `01 ${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const commune = marker('COMMUNE');
  const description = marker('DESC');
  await c.install();
  await c.press('professional');
  await c.press(options.danger ? 'yes' : 'no'); // danger
  await c.press('school');
  await c.say(`Collège ${structure}`);
  if (options.danger) {
    await c.say(phone); // callback
    await c.press('$skip'); // name
  } else {
    await c.press('$skip'); // callback
  }
  await c.press('$skip'); // minor's first name
  await c.press('age_15');
  await c.press('seine_saint_denis');
  await c.say(commune);
  await c.choose(['money_gifts', 'networks', 'school']);
  await c.say(`Absences répétées. ${description}`);
  // Date, places, source, authors, whereabouts, followed: skipped.
  for (let i = 0; i < 6; i += 1) await c.press('$skip');
  await c.choose(['nothing']); // actions
  // Parents, whether the young person knows, expectations: skipped.
  for (let i = 0; i < 3; i += 1) await c.press('$skip');
  await c.press('$confirm');
  const receipt = c
    .received()
    .map((m) => m.body.text as string)
    .find((x) => /Référence : R-/.test(x));
  if (!receipt) throw new Error(`no receipt:\n${c.transcript()}`);
  const reference = /Référence : (R-[0-9A-Z]+)/.exec(receipt)![1]!;
  const receiptCode = /Code secret \(reçu\) : (\S+)/.exec(receipt)?.[1];
  return {
    reference,
    markers: [
      structure,
      commune,
      description,
      ...(options.danger ? [phone] : []),
      ...(receiptCode ? [receiptCode] : []),
    ],
  };
}
