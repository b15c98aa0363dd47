/**
 * Rendering the engine's replies as Teams activities: Adaptive Cards (version 1.4) for choices, the
 * emergency numbers, the summary and the receipt, each with a plain-text fallback in the activity text for
 * clients that cannot show cards. Buttons are Action.Submit whose `data` names the step and the option, so
 * a press on an old card comes back with an old step id and the engine refuses it politely.
 */
import type { Lang, Reply, ReplyOption } from '../../engine/index.js';
import type { Activity } from './adapter.js';
import { TEAMS_TEXTS } from './texts.js';

/** The pseudo step of the welcome card's flow choice (the engine never produces a `$flow` step). */
export const FLOW_CHOICE_STEP = '$flow';
/** The id of the Input.ChoiceSet of a multiple choice. */
export const SELECTION_INPUT = 'selection';

const CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

type Json = Record<string, unknown>;

function card(body: Json[], fallbackText: string, actions: Json[] = []): Json {
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    fallbackText,
    body,
    ...(actions.length ? { actions } : {}),
  };
}

function message(text: string, content?: Json): Partial<Activity> {
  return {
    type: 'message',
    text,
    textFormat: 'plain',
    ...(content ? { attachments: [{ contentType: CARD_CONTENT_TYPE, content }] } : {}),
  };
}

function submit(title: string, data: Json): Json {
  return { type: 'Action.Submit', title, data };
}

function textBlock(text: string, extra: Json = {}): Json {
  return { type: 'TextBlock', text, wrap: true, ...extra };
}

/** One full-width button per row (an ActionSet each), so long lists stay readable on a phone. */
function buttonRows(stepId: string, options: ReplyOption[]): Json[] {
  return options.map((o) => ({
    type: 'ActionSet',
    actions: [submit(o.label, { intake: 1, stepId, optionId: o.id })],
  }));
}

function numbered(options: ReplyOption[]): string {
  return options.map((o, i) => `${i + 1}. ${o.label}`).join('\n');
}

function renderChoices(reply: Extract<Reply, { type: 'choices' }>, lang: Lang): Partial<Activity> {
  const t = TEAMS_TEXTS[lang];
  if (!reply.multi) {
    const fallback = `${reply.text}\n\n${t.typeNumber}\n${numbered(reply.options)}`;
    return message(fallback, card(buttonRows(reply.stepId, reply.options), fallback));
  }
  // Multiple choice: the real options in a multi-select input, the built-in ones ($done, $skip) as buttons.
  const choices = reply.options.filter((o) => !o.id.startsWith('$'));
  const builtins = reply.options.filter((o) => o.id.startsWith('$'));
  const initial = choices
    .filter((o) => o.selected)
    .map((o) => o.id)
    .join(',');
  const input: Json = {
    type: 'Input.ChoiceSet',
    id: SELECTION_INPUT,
    isMultiSelect: true,
    style: 'expanded',
    value: initial,
    choices: choices.map((o) => ({ title: o.label, value: o.id })),
  };
  const actions = builtins.map((o) =>
    submit(o.label, {
      intake: 1,
      stepId: reply.stepId,
      optionId: o.id,
      ...(o.id === '$done' ? { initial } : {}),
    }),
  );
  const fallback = `${reply.text}\n\n${numbered(choices)}`;
  return message(fallback, card([input], fallback, actions));
}

function renderEmergency(reply: Extract<Reply, { type: 'emergency' }>): Partial<Activity> {
  const fallback = [
    reply.title,
    ...reply.lines.map((l) => `${l.number} : ${l.label}`),
    ...(reply.text ? [reply.text] : []),
  ].join('\n');
  const body: Json[] = [
    textBlock(reply.title, { weight: 'Bolder', size: 'Medium', color: 'Attention' }),
    { type: 'FactSet', facts: reply.lines.map((l) => ({ title: l.number, value: l.label })) },
    ...(reply.text ? [textBlock(reply.text)] : []),
  ];
  return message(fallback, card(body, fallback));
}

function renderSummary(reply: Extract<Reply, { type: 'summary' }>): Partial<Activity> {
  const fallback = [reply.title, ...reply.items.map((i) => `- ${i.label} : ${i.value}`)].join('\n');
  const body: Json[] = [
    textBlock(reply.title, { weight: 'Bolder' }),
    ...reply.items.flatMap((i) => [
      textBlock(i.label, { isSubtle: true, spacing: 'Medium' }),
      textBlock(i.value, { spacing: 'None' }),
    ]),
  ];
  return message(fallback, card(body, fallback));
}

function renderReceipt(reply: Extract<Reply, { type: 'receipt' }>, lang: Lang): Partial<Activity> {
  const t = TEAMS_TEXTS[lang];
  const lines = [reply.text, '', `${t.reference} : ${reply.reference}`];
  if (reply.receipt) lines.push(`${t.receipt} : ${reply.receipt}`);
  const fallback = lines.join('\n');
  const body: Json[] = [
    textBlock(reply.text),
    {
      type: 'FactSet',
      facts: [
        { title: t.reference, value: reply.reference },
        ...(reply.receipt ? [{ title: t.receipt, value: reply.receipt }] : []),
      ],
    },
  ];
  return message(fallback, card(body, fallback));
}

/** Renders the replies of one turn, in order. */
export function renderReplies(replies: Reply[], lang: Lang): Partial<Activity>[] {
  return replies.map((r): Partial<Activity> => {
    if (r.type === 'choices') return renderChoices(r, lang);
    if (r.type === 'emergency') return renderEmergency(r);
    if (r.type === 'summary') return renderSummary(r);
    if (r.type === 'receipt') return renderReceipt(r, lang);
    return message(r.text);
  });
}

/** The welcome: what the service is, then the choice of flow, professionals first. */
export function renderWelcome(
  lang: Lang,
  flows: { professional?: string; youth?: string },
): Partial<Activity>[] {
  const t = TEAMS_TEXTS[lang];
  const options: ReplyOption[] = [
    ...(flows.professional ? [{ id: flows.professional, label: t.flowProfessional }] : []),
    ...(flows.youth ? [{ id: flows.youth, label: t.flowYouth }] : []),
  ];
  const fallback = [t.chooseFlow, ...options.map((o) => `- ${o.label} : /start ${o.id}`)].join('\n');
  return [
    message(t.welcome),
    message(fallback, card([textBlock(t.chooseFlow), ...buttonRows(FLOW_CHOICE_STEP, options)], fallback)),
  ];
}

/** The data of the dialog card's action: Teams sends it back in the `task/fetch` invoke's `value.data`. */
export interface DialogData {
  intake: 1;
  dialog: string;
}

/**
 * The card offering the flow in a Teams dialog (the web flow, sealed on the device): what it protects, and
 * an Action.Submit with `msteams: { type: 'task/fetch' }` that makes Teams ask the bot for the dialog.
 */
export function renderDialogOffer(lang: Lang, flowId: string): Partial<Activity> {
  const t = TEAMS_TEXTS[lang];
  const data: DialogData & { msteams: { type: 'task/fetch' } } = {
    msteams: { type: 'task/fetch' },
    intake: 1,
    dialog: flowId,
  };
  return message(
    t.dialogIntro,
    card([textBlock(t.dialogIntro)], t.dialogIntro, [{ type: 'Action.Submit', title: t.dialogButton, data }]),
  );
}

/** A plain text message (channel notices). */
export function textMessage(text: string): Partial<Activity> {
  return message(text);
}
