/**
 * The web flow (Preact): the same engine (`step` from src/engine) on the same flows as the chats, run in the
 * person's browser. The conversation lives in this module's memory only: nothing in localStorage,
 * sessionStorage, IndexedDB or cookies, and the server never receives an answer (the report is sealed here,
 * see seal.ts). "Quitter" and Escape pressed twice forget everything and replace the page with a neutral
 * site, so Back does not come back to it.
 */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  type Capabilities,
  type ConversationState,
  type Effect,
  type Flow,
  type Lang,
  type Reply,
  type Status,
  step,
  type Turn,
} from '../../../src/engine/index.js';
import { AnswerForm } from './answer.js';
import { loadConfig, loadFlow, type PublicConfig } from './api.js';
import { type ReadOutcome, readReplies } from './followup.js';
import { type UiTexts, uiTexts } from './i18n.js';
import { sealAndSend } from './seal.js';
import { teamsDialog } from './teams.js';
import { telegramMiniApp } from './telegram.js';

// `page`: steps say their page_text (no chat history here; Quitter and the visible controls instead of commands).
const CAPABILITIES: Capabilities = { buttons: true, deleteMessages: true, page: true };
/** Where Quitter goes before the configuration is loaded. */
const FALLBACK_EXIT = 'https://www.google.fr/';
/** Two presses of Escape within this delay leave the page. */
const DOUBLE_ESCAPE_MS = 1500;

type NewEntry = { from: 'bot'; reply: Reply } | { from: 'me'; text: string };
type Entry = NewEntry & { id: number };

/** Everything the page knows about the conversation: in memory, dropped by {@link quickExit}. */
const memory: {
  config: PublicConfig | null;
  flow: Flow | null;
  state: ConversationState | null;
} = { config: null, flow: null, state: null };

let setEntriesHook: ((e: Entry[]) => void) | null = null;

/**
 * Opened inside an app: a Telegram Mini App (the welcome's `web_app` button) or a Teams dialog (the card's
 * `task/fetch` action); closed on leaving or when done. Null in a browser.
 */
const miniApp = telegramMiniApp() ?? teamsDialog();

/** Forgets everything the page knows and shows nothing of it any more. */
function forget() {
  memory.state = null;
  memory.flow = null;
  memory.config = null;
  setEntriesHook?.([]);
  document.body.replaceChildren();
  document.title = '';
}

/**
 * Forgets the conversation and replaces this page (and its history entry) with a neutral site; in Telegram,
 * closes the Mini App or the Teams dialog too (the neutral site stays as the fallback if the app does not).
 */
function quickExit() {
  const exitUrl = memory.config?.exitUrl ?? FALLBACK_EXIT;
  forget();
  miniApp?.close();
  // In a frame (a Teams dialog on the web, Telegram Web), most sites refuse to be framed: an empty page
  // instead, while the app closes the frame.
  location.replace(window.top !== window.self ? 'about:blank' : exitUrl);
}

/** "Fermer", in Telegram or Teams once the conversation is over: forgets it and closes the Mini App or dialog. */
function closeMiniApp() {
  forget();
  miniApp?.close();
}

/** The audience the address asks for, before the flow is loaded (so a loading error speaks the right way). */
function kindAsked(): 'professional' | undefined {
  const flow = new URLSearchParams(location.search).get('flow') ?? '';
  return /^(pro|professional|professionnel|professionnelle)$/i.test(flow) ? 'professional' : undefined;
}

function langOf(state: ConversationState | null, fallback: Lang): Lang {
  return state?.lang ?? fallback;
}

function EmergencyCard(props: { reply: Extract<Reply, { type: 'emergency' }> }) {
  const { reply } = props;
  return (
    <section class="emergency" aria-label={reply.title}>
      <h2>{reply.title}</h2>
      <ul>
        {reply.lines.map((l) => (
          <li key={l.number}>
            <a href={`tel:${l.number.replace(/\s/g, '')}`} class="number">
              {l.number}
            </a>{' '}
            <span>{l.label}</span>
          </li>
        ))}
      </ul>
      {reply.text ? <p class="pre">{reply.text}</p> : null}
    </section>
  );
}

function BotReply(props: {
  reply: Reply;
  active: boolean;
  t: UiTexts;
  onChoice: (stepId: string, optionId: string) => void;
}) {
  const { reply, active, t } = props;
  switch (reply.type) {
    case 'text':
      return <p class="bubble bot pre">{reply.text}</p>;
    case 'emergency':
      return <EmergencyCard reply={reply} />;
    case 'summary':
      return (
        <section class="bubble bot summary" aria-label={reply.title}>
          <h2>{reply.title}</h2>
          <dl>
            {reply.items.map((i) => (
              <div key={i.stepId}>
                <dt>{i.label}</dt>
                <dd class="pre">{i.value}</dd>
              </div>
            ))}
          </dl>
        </section>
      );
    case 'receipt':
      return (
        <section class="bubble bot receipt" aria-label={t.receiptTitle}>
          <p>
            {t.reference} : <strong>{reply.reference}</strong>
          </p>
          {reply.receipt ? (
            <p>
              {t.receiptTitle} :{' '}
              <strong class="code" data-testid="receipt">
                {reply.receipt}
              </strong>
            </p>
          ) : null}
          <p class="pre">{reply.text}</p>
        </section>
      );
    case 'choices':
      return (
        <fieldset class="bubble bot choices" disabled={!active}>
          <legend class="pre">{reply.text}</legend>
          <div class="options">
            {reply.options.map((o) => (
              <button
                key={o.id}
                type="button"
                data-option={o.id}
                class={o.selected ? 'option selected' : 'option'}
                {...(reply.multi && !o.id.startsWith('$')
                  ? { 'aria-pressed': o.selected ? 'true' : 'false' }
                  : {})}
                onClick={() => props.onChoice(reply.stepId, o.id)}
              >
                {o.label}
              </button>
            ))}
          </div>
        </fieldset>
      );
  }
}

/** What a lookup shows, as one text (used for /suivi typed in the conversation). */
function outcomeText(outcome: ReadOutcome, t: UiTexts): string {
  if (!outcome.ok) return t[outcome.reason === 'invalid' ? 'invalidCode' : outcome.reason];
  if (outcome.replies.length === 0) return t.noReply;
  return outcome.replies.map((r) => `${t.replyOn} ${r.day}\n${r.text}`).join('\n\n');
}

/**
 * "J'ai déjà un code": the person types the receipt; only its lookup hash leaves the page (followup.ts) and
 * the replies are opened here. The typed code is cleared as soon as the lookup is done.
 */
function CodePanel(props: { t: UiTexts; onClose: () => void }) {
  const { t } = props;
  const [code, setCode] = useState('');
  const [reading, setReading] = useState(false);
  const [outcome, setOutcome] = useState<ReadOutcome | null>(null);
  const submit = async () => {
    if (reading || !code.trim()) return;
    setReading(true);
    setOutcome(null);
    const result = await readReplies(code).catch(
      () => ({ ok: false, reason: 'unavailable' }) as const satisfies ReadOutcome,
    );
    setReading(false);
    setCode(result.ok || result.reason !== 'invalid' ? '' : code);
    setOutcome(result);
  };
  return (
    <section class="bubble bot code-panel" aria-labelledby="code-title">
      <h2 id="code-title">{t.codeTitle}</h2>
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          void submit();
        }}
      >
        <label for="code">{t.codeLabel}</label>
        <input
          id="code"
          type="text"
          autoComplete="off"
          autoCapitalize="characters"
          spellcheck={false}
          maxLength={64}
          value={code}
          onInput={(ev) => setCode((ev.target as HTMLInputElement).value)}
        />
        <p class="hint">{t.codeHint}</p>
        <div class="options">
          <button type="submit" class="option" disabled={reading}>
            {t.readReplies}
          </button>
          <button type="button" class="option" onClick={props.onClose}>
            {t.hide}
          </button>
        </div>
      </form>
      {reading ? <p role="status">{t.reading}</p> : null}
      {outcome && (!outcome.ok || outcome.replies.length === 0) ? (
        <p role="status" data-testid="code-outcome">
          {outcomeText(outcome, t)}
        </p>
      ) : null}
      {outcome?.ok && outcome.replies.length > 0 ? (
        <ul class="replies" data-testid="replies">
          {outcome.replies.map((r, i) => (
            <li key={i}>
              <p class="day">
                {t.replyOn} {r.day}
              </p>
              <p class="pre">{r.text}</p>
            </li>
          ))}
        </ul>
      ) : null}
      {outcome?.ok && outcome.answer ? (
        <AnswerForm
          key={outcome.answer.to.reportId}
          t={t}
          answer={outcome.answer}
          hasReplies={outcome.replies.length > 0}
        />
      ) : null}
    </section>
  );
}

function App() {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [status, setStatus] = useState<Status | 'loading' | 'failed'>('loading');
  const [busy, setBusy] = useState(false);
  const [draft, setDraft] = useState('');
  const [lang, setLang] = useState<Lang>('fr');
  const [codeOpen, setCodeOpen] = useState(false);
  const nextId = useRef(1);
  const endRef = useRef<HTMLDivElement>(null);
  const inputRef = useRef<HTMLTextAreaElement & HTMLInputElement>(null);
  setEntriesHook = setEntries;
  const t = uiTexts(lang, memory.flow?.kind ?? kindAsked());

  const add = (list: Entry[], more: NewEntry[]) => [
    ...list,
    ...more.map((e) => ({ ...e, id: nextId.current++ }) as Entry),
  ];

  /** Runs one turn through the engine, then its effects (sealing the report, erasing). */
  async function run(turn: Turn, shown?: string) {
    const { flow, config } = memory;
    if (!flow || !config) return;
    const options = { defaultLang: config.languages.default };
    let result = step(flow, memory.state, turn, options);
    let list = shown ? add(entries, [{ from: 'me', text: shown }]) : entries;
    list = add(
      list,
      result.replies.map((reply) => ({ from: 'bot', reply })),
    );
    memory.state = result.state;
    setEntries(list);
    setStatus(result.status);
    setLang(langOf(result.state, lang));
    const pending: Effect[] = [...result.effects];
    while (pending.length > 0) {
      const effect = pending.shift()!;
      if (effect.type === 'submit') {
        setBusy(true);
        const sent = await sealAndSend(effect, config).catch(() => ({
          ok: false as const,
          reason: 'unavailable' as const,
        }));
        setBusy(false);
        const now = Date.now();
        const follow: Turn = sent.ok
          ? {
              kind: 'submitted',
              now,
              reference: sent.reference,
              ...(sent.receipt ? { receipt: sent.receipt } : {}),
              capabilities: CAPABILITIES,
            }
          : { kind: 'submit_failed', now, reason: sent.reason, capabilities: CAPABILITIES };
        result = step(flow, memory.state, follow, options);
        memory.state = result.state;
        list = add(
          list,
          result.replies.map((reply) => ({ from: 'bot', reply })),
        );
        setEntries(list);
        setStatus(result.status);
        pending.push(...result.effects);
      } else if (effect.type === 'erase') {
        // /effacer: everything shown so far goes, the engine's last words stay.
        list = add(
          [],
          result.replies.map((reply) => ({ from: 'bot', reply })),
        );
        setEntries(list);
      } else if (effect.type === 'follow_up') {
        // "/suivi CODE" typed in the conversation: read here like "J'ai déjà un code" (the text never left).
        setBusy(true);
        const read = await readReplies(effect.receipt).catch(
          () => ({ ok: false, reason: 'unavailable' }) as const satisfies ReadOutcome,
        );
        setBusy(false);
        const text = outcomeText(read, uiTexts(langOf(memory.state, lang), memory.flow?.kind));
        list = add(list, [{ from: 'bot', reply: { type: 'text', text } }]);
        setEntries(list);
      }
      // 'forget' and 'mark_urgent': nothing is stored, nothing to notify from the page.
    }
  }

  useEffect(() => {
    // In Telegram or Teams: the page is ready to be shown (the app hides its own loader).
    miniApp?.ready();
    const params = new URLSearchParams(location.search);
    const wanted = params.get('lang');
    const locale = wanted === 'en' || wanted === 'fr' ? wanted : undefined;
    if (locale) setLang(locale);
    (async () => {
      const config = await loadConfig();
      memory.config = config;
      const flow = await loadFlow(params.get('flow'), config);
      memory.flow = flow;
      await run({
        kind: 'start',
        now: Date.now(),
        payload: flow.id,
        ...(locale ? { locale } : {}),
        capabilities: CAPABILITIES,
      });
    })().catch(() => setStatus('failed'));
    // Escape twice (within 1.5 s) leaves, from anywhere on the page.
    let lastEscape = 0;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      const now = Date.now();
      if (now - lastEscape < DOUBLE_ESCAPE_MS) quickExit();
      lastEscape = now;
    };
    // Shown again from the back-forward cache: never show the old conversation.
    const onShow = (e: PageTransitionEvent) => {
      if (e.persisted) quickExit();
    };
    document.addEventListener('keydown', onKey);
    window.addEventListener('pageshow', onShow);
    return () => {
      document.removeEventListener('keydown', onKey);
      window.removeEventListener('pageshow', onShow);
    };
  }, []);

  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: 'end' });
  }, [entries]);

  const lastChoices = (() => {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.from === 'bot' && e.reply.type === 'choices') return e.id;
    }
    return -1;
  })();
  const current = memory.flow?.steps.find((s) => s.id === memory.state?.stepId);
  const done = status === 'completed' || status === 'stopped' || status === 'erased';
  const canType = !busy && !done && status !== 'loading' && status !== 'failed';

  const send = (text: string, shown = text) => {
    if (!text.trim() || busy) return;
    setDraft('');
    void run({ kind: 'text', now: Date.now(), text, locale: lang, capabilities: CAPABILITIES }, shown);
  };
  const choose = (stepId: string, optionId: string) => {
    if (busy) return;
    const e = entries.find((x) => x.id === lastChoices);
    const label =
      e?.from === 'bot' && e.reply.type === 'choices'
        ? e.reply.options.find((o) => o.id === optionId)?.label
        : '';
    void run({ kind: 'choice', now: Date.now(), stepId, optionId, capabilities: CAPABILITIES }, label);
  };

  const inputType = current && 'type' in current ? current.type : 'text';
  return (
    <div class="page">
      <header class="bar">
        <p class="privacy">{t.privacy}</p>
        <div class="controls">
          <button type="button" class="control" onClick={() => send('/aide', t.help)} disabled={!canType}>
            {t.help}
          </button>
          <button
            type="button"
            class="control urgent"
            onClick={() => send('/urgence', t.emergency)}
            disabled={!canType}
          >
            {t.emergency}
          </button>
          <button
            type="button"
            class="control"
            aria-expanded={codeOpen ? 'true' : 'false'}
            onClick={() => setCodeOpen(!codeOpen)}
          >
            {t.haveCode}
          </button>
          <button type="button" class="control exit" onClick={quickExit} title={t.exitHint}>
            {t.exit}
          </button>
        </div>
      </header>
      <main>
        <h1 class="visually-hidden">{t.conversation}</h1>
        {status === 'loading' ? <p role="status">{t.loading}</p> : null}
        {status === 'failed' ? <p role="alert">{t.failed}</p> : null}
        {codeOpen ? <CodePanel t={t} onClose={() => setCodeOpen(false)} /> : null}
        <div class="log" role="log" aria-live="polite">
          {entries.map((e) =>
            e.from === 'me' ? (
              <p key={e.id} class="bubble me pre">
                {e.text}
              </p>
            ) : (
              <BotReply
                key={e.id}
                reply={e.reply}
                active={e.id === lastChoices && canType}
                t={t}
                onChoice={choose}
              />
            ),
          )}
          {busy ? <p role="status">{t.sending}</p> : null}
          {done && miniApp ? (
            <p>
              <button type="button" class="send" onClick={closeMiniApp}>
                {t.close}
              </button>
            </p>
          ) : null}
          <div ref={endRef} />
        </div>
      </main>
      {canType ? (
        <form
          class="composer"
          onSubmit={(ev) => {
            ev.preventDefault();
            send(draft);
          }}
        >
          <label for="answer" class="visually-hidden">
            {t.answer}
          </label>
          {inputType === 'date' ? (
            <input
              id="answer"
              ref={inputRef}
              type="date"
              value={draft}
              onInput={(ev) => setDraft((ev.target as HTMLInputElement).value)}
            />
          ) : inputType === 'number' ? (
            <input
              id="answer"
              ref={inputRef}
              type="text"
              inputMode="numeric"
              autoComplete="off"
              value={draft}
              onInput={(ev) => setDraft((ev.target as HTMLInputElement).value)}
            />
          ) : (
            <textarea
              id="answer"
              ref={inputRef}
              rows={2}
              maxLength={2000}
              autoComplete="off"
              value={draft}
              onInput={(ev) => setDraft((ev.target as HTMLTextAreaElement).value)}
            />
          )}
          <button type="submit" class="send">
            {t.send}
          </button>
        </form>
      ) : null}
    </div>
  );
}

render(<App />, document.getElementById('app')!);
