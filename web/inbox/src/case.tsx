/**
 * One case: decrypted here (the server sent ciphertext and this coordinator's sealed data key), answers
 * shown with the flow's labels, the workflow with its required fields, assignment, encrypted notes, a reply
 * sealed to the submitter's receipt key, and a printable page for the CRIP or the prosecutor.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type CaseDetail, type FlowLabels } from './api.js';
import type { Ctx } from './ctx.js';
import * as keys from './keys.js';
import { formatDate } from './queue.js';

interface Payload {
  flow?: { id: string; version: number };
  kind?: string;
  lang?: string;
  submittedAt?: string;
  answers?: Record<string, unknown>;
}

export function answerRows(payload: Payload, labels: FlowLabels | null, lang: 'fr' | 'en') {
  const rows: { id: string; label: string; value: string }[] = [];
  for (const [id, value] of Object.entries(payload.answers ?? {})) {
    const step = labels?.steps[id];
    const label = step?.label[lang] ?? step?.label.fr ?? id;
    const option = (v: unknown) => {
      const o = typeof v === 'string' ? step?.options?.[v] : undefined;
      return o
        ? (o[lang] ?? o.fr ?? String(v))
        : typeof v === 'boolean'
          ? v
            ? lang === 'fr'
              ? 'Oui'
              : 'Yes'
            : lang === 'fr'
              ? 'Non'
              : 'No'
          : String(v);
    };
    rows.push({ id, label, value: Array.isArray(value) ? value.map(option).join(', ') : option(value) });
  }
  // In the order of the flow's questions when the labels are known (the payload's keys are sorted).
  const order = labels ? Object.keys(labels.steps) : [];
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length);
  return rows.sort((a, b) => rank(a.id) - rank(b.id));
}

const labelCache = new Map<string, FlowLabels>();
export async function flowLabels(
  flow: { id: string; version: number } | undefined,
): Promise<FlowLabels | null> {
  if (!flow) return null;
  const key = `${flow.id}@${flow.version}`;
  const known = labelCache.get(key);
  if (known) return known;
  try {
    const l = await api<FlowLabels>('GET', `/flows/${encodeURIComponent(flow.id)}/${flow.version}`);
    labelCache.set(key, l);
    return l;
  } catch {
    return null;
  }
}

interface Note {
  id: string;
  authorName: string;
  at: string;
  text: string;
  check: keys.NoteCheck;
}

interface StoredNote {
  id: string;
  authorId: string;
  authorName: string;
  at: string;
  ciphertext: string;
  signature: string | null;
  authorSigningKey: string | null;
}

export function CaseView(props: { ctx: Ctx; reference: string; onBack: () => void }) {
  const { ctx, reference } = props;
  const { t, lang, info } = ctx;
  const wf = info.workflow;
  const [c, setC] = useState<CaseDetail | null>(null);
  const [payload, setPayload] = useState<Payload | null>(null);
  const [labels, setLabels] = useState<FlowLabels | null>(null);
  const [notes, setNotes] = useState<Note[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [to, setTo] = useState('');
  const [reason, setReason] = useState('');
  const [partner, setPartner] = useState('');
  const [duplicateOf, setDuplicateOf] = useState('');
  const [note, setNote] = useState('');
  const [reply, setReply] = useState('');
  const [printKind, setPrintKind] = useState<'print_crip' | 'print_parquet'>('print_crip');

  async function load() {
    setError(null);
    try {
      const detail = await api<CaseDetail>('GET', `/reports/${encodeURIComponent(reference)}`);
      setC(detail);
      setTo('');
      if (detail.sealedKey) {
        const opened = keys.openCase({ ...detail, sealedKey: detail.sealedKey }) as Payload;
        setPayload(opened);
        setLabels(await flowLabels(opened.flow));
        const n = await api<{ items: StoredNote[] }>(
          'GET',
          `/reports/${encodeURIComponent(reference)}/notes`,
        );
        setNotes(
          n.items.map((x) => {
            try {
              const opened = keys.openNote({ id: detail.id, sealedKey: detail.sealedKey! }, x);
              return { id: x.id, authorName: x.authorName, at: x.at, ...opened };
            } catch {
              // Does not open under its own id and report: moved or altered; never shown as text.
              return {
                id: x.id,
                authorName: x.authorName,
                at: x.at,
                text: '⚠',
                check: 'unverified' as const,
              };
            }
          }),
        );
      }
    } catch (err) {
      setError((err as Error).message);
    }
  }

  useEffect(() => {
    load();
  }, [reference]);

  if (error && !c)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (!c) return <p role="status">…</p>;

  const rule = c.allowedTransitions.find((x) => x.to === to);
  const needs = (f: string) => rule?.requires.includes(f) ?? false;
  const done = (message: string) => {
    setStatus(message);
    load();
  };
  const act = async (fn: () => Promise<unknown>, message: string) => {
    setError(null);
    setStatus(null);
    try {
      await fn();
      done(message);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const rows = payload ? answerRows(payload, labels, lang) : [];
  const inboxName = info.inboxes.find((i) => i.id === c.inbox)?.name ?? c.inbox;

  return (
    <article class={`case print-${printKind}`} aria-labelledby="case-title">
      <p class="no-print">
        <button type="button" class="link" onClick={props.onBack}>
          ← {t.back}
        </button>
      </p>
      <header class="print-only">
        <h1>{printKind === 'print_crip' ? t.printTitleCrip : t.printTitleParquet}</h1>
        <p>
          {inboxName} — {t.printedBy} {ctx.me.coordinator.name}, {formatDate(new Date().toISOString(), lang)}
        </p>
      </header>
      <h1 id="case-title">
        {c.reference} <span class={`badge urgency-${c.urgency}`}>{t.urgencies[c.urgency]}</span>
      </h1>
      <dl class="meta">
        <dt>{t.status}</dt>
        <dd data-testid="status">{ctx.statusLabel(c.status)}</dd>
        <dt>{t.received}</dt>
        <dd>{formatDate(c.receivedAt, lang)}</dd>
        <dt>{t.kind}</dt>
        <dd>{t.kinds[c.kind]}</dd>
        <dt>{t.channel}</dt>
        <dd>{c.channel}</dd>
        <dt>{t.inbox}</dt>
        <dd>{inboxName}</dd>
        <dt>{t.assigned}</dt>
        <dd>{ctx.memberName(c.assignedTo)}</dd>
        <dt>{t.recipients}</dt>
        <dd data-testid="recipients">
          {c.recipients.map((r) => `${r.name} (${r.login})`).join(', ') || '—'}
        </dd>
        {c.partner && (
          <>
            <dt>{t.partner}</dt>
            <dd>{wf.partners.find((p) => p.id === c.partner)?.name ?? c.partner}</dd>
          </>
        )}
        {c.closeReason && (
          <>
            <dt>{t.reason}</dt>
            <dd>{wf.closeReasons.find((r) => r.id === c.closeReason)?.label[lang] ?? c.closeReason}</dd>
          </>
        )}
      </dl>
      {status && (
        <p class="ok no-print" role="status">
          {status}
        </p>
      )}
      {error && (
        <p class="error no-print" role="alert">
          {error}
        </p>
      )}

      <section aria-labelledby="answers-title">
        <h2 id="answers-title">{t.answers}</h2>
        {!c.sealedKey && <p>{t.cannotOpen}</p>}
        {rows.length > 0 && (
          <dl class="answers">
            {rows.map((r) => (
              <>
                <dt>{r.label}</dt>
                <dd data-step={r.id}>{r.value}</dd>
              </>
            ))}
          </dl>
        )}
      </section>

      <section class="no-print" aria-labelledby="move-title">
        <h2 id="move-title">{t.move}</h2>
        {c.allowedTransitions.length > 0 && (
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              if (!to) return;
              act(
                () =>
                  api('POST', `/reports/${encodeURIComponent(c.reference)}/transitions`, {
                    to,
                    ...(needs('reason') ? { reason } : {}),
                    ...(needs('partner') ? { partner } : {}),
                    ...(needs('duplicateOf') ? { duplicateOf: duplicateOf.trim().toUpperCase() } : {}),
                  }),
                t.saved,
              );
            }}
          >
            <label>
              {t.to_}
              <select name="to" value={to} required onChange={(e) => setTo(e.currentTarget.value)}>
                <option value="">—</option>
                {c.allowedTransitions.map((x) => (
                  <option value={x.to}>{ctx.statusLabel(x.to)}</option>
                ))}
              </select>
            </label>
            {needs('reason') && (
              <label>
                {t.reason}
                <select
                  name="reason"
                  required
                  value={reason}
                  onChange={(e) => setReason(e.currentTarget.value)}
                >
                  <option value="">—</option>
                  {wf.closeReasons.map((r) => (
                    <option value={r.id}>{r.label[lang]}</option>
                  ))}
                </select>
              </label>
            )}
            {needs('partner') && (
              <label>
                {t.partner}
                <select
                  name="partner"
                  required
                  value={partner}
                  onChange={(e) => setPartner(e.currentTarget.value)}
                >
                  <option value="">—</option>
                  {wf.partners.map((p) => (
                    <option value={p.id}>{p.name}</option>
                  ))}
                </select>
              </label>
            )}
            {needs('duplicateOf') && (
              <label>
                {t.duplicateOf}
                <input
                  name="duplicateOf"
                  required
                  pattern="[Rr]-[0-9A-Za-z]{4,12}"
                  value={duplicateOf}
                  onInput={(e) => setDuplicateOf(e.currentTarget.value)}
                />
              </label>
            )}
            <button type="submit">{t.confirm}</button>
          </form>
        )}
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const v = (e.currentTarget.elements.namedItem('assignee') as HTMLSelectElement).value;
            act(
              () =>
                api('POST', `/reports/${encodeURIComponent(c.reference)}/assign`, {
                  coordinatorId: v || null,
                }),
              t.saved,
            );
          }}
        >
          <label>
            {t.assigned}
            <select name="assignee" value={c.assignedTo ?? ''}>
              <option value="">{t.nobody}</option>
              {info.members
                .filter((m) => m.inboxes.includes(c.inbox))
                .map((m) => (
                  <option value={m.id}>{m.name}</option>
                ))}
            </select>
          </label>
          <button type="submit">{t.assign}</button>
        </form>
      </section>

      <section aria-labelledby="history-title">
        <h2 id="history-title">{t.history}</h2>
        <ol class="history">
          {c.transitions.map((x) => (
            <li>
              {formatDate(x.at, lang)} — {ctx.statusLabel(x.from)} → {ctx.statusLabel(x.to)} ({x.actorName})
              {x.partner && ` — ${wf.partners.find((p) => p.id === x.partner)?.name ?? x.partner}`}
              {x.reason && ` — ${wf.closeReasons.find((r) => r.id === x.reason)?.label[lang] ?? x.reason}`}
              {x.duplicateOf && ` — ${x.duplicateOf}`}
            </li>
          ))}
        </ol>
      </section>

      {c.sealedKey && (
        <section aria-labelledby="notes-title">
          <h2 id="notes-title">{t.notes}</h2>
          <ul class="notes">
            {notes.map((n) => (
              <li data-check={n.check}>
                <p class="note-meta">
                  {n.authorName}, {formatDate(n.at, lang)}
                </p>
                <p class="note-text">{n.text}</p>
                {n.check === 'unverified' && (
                  <p class="note-warning" role="note">
                    ⚠ {t.noteUnverified}
                  </p>
                )}
                {n.check === 'legacy' && <p class="note-meta">{t.noteLegacy}</p>}
              </li>
            ))}
          </ul>
          <form
            class="no-print"
            onSubmit={(e) => {
              e.preventDefault();
              if (!note.trim()) return;
              const body = keys.sealNote(
                { id: c.id, sealedKey: c.sealedKey! },
                ctx.me.coordinator.id,
                note.trim(),
              );
              act(async () => {
                await api('POST', `/reports/${encodeURIComponent(c.reference)}/notes`, body);
                setNote('');
              }, t.saved);
            }}
          >
            <label for="note">{t.notes}</label>
            <textarea
              id="note"
              name="note"
              rows={3}
              maxLength={20000}
              value={note}
              onInput={(e) => setNote(e.currentTarget.value)}
            />
            <button type="submit">{t.addNote}</button>
          </form>
        </section>
      )}

      <Exchange c={c} ctx={ctx} />

      <section class="no-print" aria-labelledby="reply-title">
        <h2 id="reply-title">{t.reply}</h2>
        {c.replies.length > 0 && (
          <p>
            {t.repliesSent}:{' '}
            {c.replies.map((r) => `${formatDate(r.at, lang)} (${r.authorName ?? '—'})`).join(', ')}
          </p>
        )}
        {c.receiptPublicKey ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (!reply.trim()) return;
              const body = keys.sealSignedReply(
                { id: c.id, receiptPublicKey: c.receiptPublicKey! },
                ctx.me.coordinator.id,
                reply.trim(),
              );
              act(async () => {
                await api('POST', `/reports/${encodeURIComponent(c.reference)}/replies`, body);
                setReply('');
              }, t.replySent);
            }}
          >
            <label for="reply">{t.reply}</label>
            <textarea
              id="reply"
              name="reply"
              rows={3}
              maxLength={4000}
              value={reply}
              onInput={(e) => setReply(e.currentTarget.value)}
            />
            <button type="submit">{t.sendReply}</button>
          </form>
        ) : (
          <p>{t.noReceipt}</p>
        )}
      </section>

      {c.sealedKey && (
        <p class="no-print actions">
          {(['print_crip', 'print_parquet'] as const).map((kind) => (
            <button
              type="button"
              onClick={async () => {
                setPrintKind(kind);
                await api('POST', `/reports/${encodeURIComponent(c.reference)}/exports`, { kind }).catch(
                  () => {},
                );
                setTimeout(() => window.print(), 50);
              }}
            >
              {kind === 'print_crip' ? t.printCrip : t.printParquet}
            </button>
          ))}
        </p>
      )}
    </article>
  );
}

/**
 * The exchange with the person, oldest first: the coordinators' replies (metadata only: they are sealed to
 * the person's code) and the person's messages, opened here with this coordinator's key.
 */
function Exchange(props: { c: CaseDetail; ctx: Ctx }) {
  const { c, ctx } = props;
  const { t, lang } = ctx;
  const items = [
    ...c.replies.map((r) => ({ key: `r-${r.id}`, at: r.at, from: 'coordination' as const, text: '', r })),
    ...c.followUps.map((f) => {
      let text: string | null = null;
      if (f.sealedKey) {
        try {
          text = keys.openFollowUpMessage(c.id, { ...f, sealedKey: f.sealedKey });
        } catch {
          text = null;
        }
      }
      return { key: `f-${f.id}`, at: f.at, from: 'person' as const, text, r: null };
    }),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return (
    <section class="no-print" aria-labelledby="exchange-title">
      <h2 id="exchange-title">{t.exchange}</h2>
      {items.length === 0 ? (
        <p>{t.exchangeEmpty}</p>
      ) : (
        <ol class="notes exchange" data-testid="exchange">
          {items.map((i) =>
            i.from === 'person' ? (
              <li key={i.key} class="from-person" data-testid="followup">
                <p class="note-meta">
                  <strong>{t.personWrote}</strong>, {formatDate(i.at, lang)}
                </p>
                <p class="note-text">{i.text ?? t.followUpCannotOpen}</p>
              </li>
            ) : (
              <li key={i.key} class="from-coordination">
                <p class="note-meta">
                  {t.replyBy} {i.r?.authorName ?? '—'}, {formatDate(i.at, lang)} ({t.replySealed})
                </p>
              </li>
            ),
          )}
        </ol>
      )}
    </section>
  );
}
