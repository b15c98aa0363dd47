/**
 * Engine replies as Telegram messages: HTML text (escaped), choices as inline keyboards whose callback data
 * carries the step and option ids, an emergency card and a receipt that read well on a phone (the codes in
 * `<code>`, which Telegram copies with one tap). Pure functions: the channel sends what they return.
 */
import { createHash } from 'node:crypto';
import type { Lang, Reply } from '../../engine/index.js';
import { chatPageUrl } from '../../webflow/url.js';
import { TEXTS } from './texts.js';

/** Telegram's limit for callback data, in bytes. */
export const CALLBACK_DATA_MAX_BYTES = 64;
/** Telegram's limit is 4096 characters; stay below it so escaping never crosses it. */
const MESSAGE_MAX_CHARS = 3800;
/** Callback data of a button that does nothing any more (the choice it shows was made). */
export const CLOSED_DATA = 'n';

/** A button that sends a press to the bot (`callback_data`). */
export interface CallbackButton {
  text: string;
  callback_data: string;
}
/** A button that opens a page as a Telegram Mini App (allowed in private chats only). */
export interface WebAppButton {
  text: string;
  web_app: { url: string };
}
export type InlineButton = CallbackButton | WebAppButton;
export type InlineKeyboard = InlineButton[][];

/**
 * One message to send. `shortCodes` are long callback ids the channel must remember to decode presses.
 * A `standing` keyboard is not a question's: it is never the conversation's live keyboard, so answering
 * does not close it.
 */
export interface OutgoingMessage {
  html: string;
  keyboard?: InlineKeyboard;
  shortCodes?: Record<string, [stepId: string, optionId: string]>;
  standing?: boolean;
}

/** A press, decoded. */
export type Press =
  | { kind: 'choice'; stepId: string; optionId: string }
  | { kind: 'short'; code: string }
  | { kind: 'closed' };

/** Escapes text for Telegram's HTML parse mode. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The short code used when `s:<step>:<option>` does not fit in 64 bytes. */
export function shortCode(stepId: string, optionId: string): string {
  return createHash('sha256').update(`${stepId}\u0000${optionId}`).digest('base64url').slice(0, 16);
}

/** Callback data for an option: `s:<stepId>:<optionId>` or, when too long, `x:<short code>`. */
export function encodeChoice(stepId: string, optionId: string): { data: string; short?: string } {
  const data = `s:${stepId}:${optionId}`;
  if (Buffer.byteLength(data, 'utf8') <= CALLBACK_DATA_MAX_BYTES) return { data };
  const code = shortCode(stepId, optionId);
  return { data: `x:${code}`, short: code };
}

/** Decodes callback data; anything unknown is treated as a closed question. */
export function decodePress(data: string | undefined): Press {
  if (!data) return { kind: 'closed' };
  if (data.startsWith('s:')) {
    // Step ids may carry a suffix (`summary:change`); option ids never contain ':'.
    const rest = data.slice(2);
    const cut = rest.lastIndexOf(':');
    if (cut <= 0 || cut === rest.length - 1) return { kind: 'closed' };
    return { kind: 'choice', stepId: rest.slice(0, cut), optionId: rest.slice(cut + 1) };
  }
  if (data.startsWith('x:') && data.length > 2) return { kind: 'short', code: data.slice(2) };
  return { kind: 'closed' };
}

/** Splits plain text into pieces under the message limit, at line breaks when possible. */
export function splitText(text: string, max = MESSAGE_MAX_CHARS): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) cut = rest.lastIndexOf(' ', max);
    if (cut < max / 2) cut = max;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[\n ]/, '');
  }
  out.push(rest);
  return out;
}

/** Groups HTML blocks (each self-contained) into messages under the limit. */
function pack(blocks: string[], separator: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const block of blocks) {
    if (current && current.length + separator.length + block.length > MESSAGE_MAX_CHARS) {
      out.push(current);
      current = block;
    } else {
      current = current ? `${current}${separator}${block}` : block;
    }
  }
  if (current) out.push(current);
  return out;
}

/** The inline keyboard of a `choices` reply: one option per row (labels are long on a phone). */
export function keyboardFor(reply: Extract<Reply, { type: 'choices' }>): {
  keyboard: CallbackButton[][];
  shortCodes?: Record<string, [string, string]>;
} {
  const shortCodes: Record<string, [string, string]> = {};
  const keyboard = reply.options.map((o) => {
    const { data, short } = encodeChoice(reply.stepId, o.id);
    if (short) shortCodes[short] = [reply.stepId, o.id];
    const mark = reply.multi && !o.id.startsWith('$') && o.selected ? '✓ ' : '';
    return [{ text: `${mark}${o.label}`, callback_data: data }];
  });
  return Object.keys(shortCodes).length > 0 ? { keyboard, shortCodes } : { keyboard };
}

/** The keyboard left on a question once answered: the choice, on a button that does nothing. */
export function answeredKeyboard(labels: string[]): InlineKeyboard {
  return labels.length === 0 ? [] : [[{ text: `✓ ${labels.join(', ')}`, callback_data: CLOSED_DATA }]];
}

/**
 * The address of the web flow for a Mini App button: `PUBLIC_URL` + `/chat/?flow=<id>&lang=<lang>&in=telegram`,
 * or nothing when `PUBLIC_URL` is missing or not https (Telegram opens Mini Apps over https only).
 */
export function miniAppUrl(publicUrl: string | undefined, flowId: string, lang: Lang): string | undefined {
  return chatPageUrl(publicUrl, flowId, lang, 'telegram');
}

/** The message offering the flow as a Mini App: what it protects, and its `web_app` button. */
export function miniAppMessage(url: string, lang: Lang): OutgoingMessage {
  const t = TEXTS[lang];
  return {
    html: escapeHtml(t.miniAppIntro),
    keyboard: [[{ text: t.miniAppButton, web_app: { url } }]],
    standing: true,
  };
}

/** Renders one engine reply as one or more messages. */
export function renderReply(reply: Reply, lang: Lang): OutgoingMessage[] {
  const t = TEXTS[lang];
  switch (reply.type) {
    case 'text':
      return splitText(reply.text).map((piece) => ({ html: escapeHtml(piece) }));
    case 'choices': {
      const pieces = splitText(reply.text);
      const last = pieces.pop() ?? '';
      const { keyboard, shortCodes } = keyboardFor(reply);
      return [
        ...pieces.map((p) => ({ html: escapeHtml(p) })),
        { html: escapeHtml(last), keyboard, ...(shortCodes ? { shortCodes } : {}) },
      ];
    }
    case 'emergency': {
      const lines = [
        `🚨 <b>${escapeHtml(reply.title)}</b>`,
        '',
        ...reply.lines.map((l) => `📞 <b>${escapeHtml(l.number)}</b> · ${escapeHtml(l.label)}`),
      ];
      if (reply.text) lines.push('', escapeHtml(reply.text));
      return [{ html: lines.join('\n') }];
    }
    case 'summary': {
      const blocks = [
        `<b>${escapeHtml(reply.title)}</b>`,
        ...reply.items.map((i) => `<b>${escapeHtml(i.label)}</b>\n${escapeHtml(i.value)}`),
      ];
      return pack(blocks, '\n\n').map((html) => ({ html }));
    }
    case 'receipt': {
      const lines = [
        escapeHtml(reply.text),
        '',
        `${t.reference} : <code>${escapeHtml(reply.reference)}</code>`,
      ];
      if (reply.receipt) {
        lines.push(`${t.receipt} : <code>${escapeHtml(reply.receipt)}</code>`, '', `<i>${t.copyHint}</i>`);
      }
      return [{ html: lines.join('\n') }];
    }
  }
}

/** The most HTML a joined message may hold: Telegram's limit is 4,096 characters of text after parsing. */
const JOINED_MAX = 3_500;

/**
 * A turn's replies as Telegram messages: a message without buttons is joined to the one after it (the
 * question under the text that leads to it, one notification instead of several), as long as the whole
 * fits. The emergency numbers always stand alone, never joined; nothing is joined after a receipt, so the
 * secret code ends its message and the end message with its "Effacer" button comes apart from it.
 */
export function oneMessageWhereItFits(
  replies: Reply[],
  lang: Lang,
  afterFirst?: OutgoingMessage,
): { message: OutgoingMessage; reply: Reply }[] {
  const out: { message: OutgoingMessage; reply: Reply; alone: boolean }[] = [];
  for (const [index, reply] of replies.entries()) {
    const messages = renderReply(reply, lang);
    if (index === 0 && afterFirst) messages.push(afterFirst);
    const alone = reply.type === 'emergency';
    for (const message of messages) {
      const prev = out.at(-1);
      if (
        prev &&
        !prev.alone &&
        !alone &&
        prev.reply.type !== 'receipt' &&
        !prev.message.keyboard &&
        prev.message.html.length + message.html.length + 2 <= JOINED_MAX
      ) {
        out[out.length - 1] = {
          message: { ...message, html: `${prev.message.html}\n\n${message.html}` },
          reply,
          alone,
        };
      } else out.push({ message, reply, alone });
    }
  }
  return out;
}
