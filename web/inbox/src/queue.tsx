/** The queue: filters, due-time colours, cursor pagination. Shows clear metadata only (nothing to decrypt). */
import { useEffect, useState } from 'preact/hooks';
import { api, type QueueItem } from './api.js';
import type { Ctx } from './ctx.js';

interface Filters {
  inbox: string;
  status: string;
  urgency: string;
  kind: string;
  assignedTo: string;
  receivedFrom: string;
  receivedTo: string;
  sort: 'received_desc' | 'received_asc';
}

const EMPTY: Filters = {
  inbox: '',
  status: '',
  urgency: '',
  kind: '',
  assignedTo: '',
  receivedFrom: '',
  receivedTo: '',
  sort: 'received_desc',
};

function query(f: Filters, cursor?: string): string {
  const q = new URLSearchParams();
  if (f.inbox) q.set('inbox', f.inbox);
  if (f.status) q.set('status', f.status);
  if (f.urgency) q.set('urgency', f.urgency);
  if (f.kind) q.set('kind', f.kind);
  if (f.assignedTo) q.set('assignedTo', f.assignedTo);
  if (f.receivedFrom) q.set('receivedFrom', new Date(`${f.receivedFrom}T00:00:00`).toISOString());
  if (f.receivedTo) q.set('receivedTo', new Date(`${f.receivedTo}T00:00:00`).toISOString());
  q.set('sort', f.sort);
  q.set('limit', '50');
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

export function formatDate(iso: string | null, lang: string): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', {
    dateStyle: 'short',
    timeStyle: 'short',
    timeZone: 'Europe/Paris',
  }).format(new Date(iso));
}

export function QueueView(props: { ctx: Ctx; onOpen: (reference: string) => void }) {
  const { ctx } = props;
  const { t, lang, info } = ctx;
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [items, setItems] = useState<QueueItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  async function load(f: Filters, after?: string) {
    setLoading(true);
    setError(null);
    try {
      const page = await api<{ items: QueueItem[]; nextCursor: string | null }>(
        'GET',
        `/reports?${query(f, after)}`,
      );
      setItems((prev) => (after ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setLoading(false);
    }
  }

  // Cases with a message from the person nobody has opened yet, whatever the filters and the status (a
  // closed case the person wrote to again shows here): they come first.
  const [fresh, setFresh] = useState<QueueItem[]>([]);
  useEffect(() => {
    load(filters);
    api<{ items: QueueItem[] }>('GET', '/reports?newFollowUp=true&limit=100')
      .then((page) => setFresh(page.items))
      .catch(() => setFresh([]));
  }, [filters]);

  const field = (key: keyof Filters) => ({
    value: draft[key],
    onChange: (e: Event) => setDraft({ ...draft, [key]: (e.currentTarget as HTMLInputElement).value }),
  });

  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">{t.queue}</h1>
      {fresh.length > 0 && (
        <section class="new-messages" aria-labelledby="new-messages-title" data-testid="new-messages">
          <h2 id="new-messages-title">
            {t.newMessages} ({fresh.length})
          </h2>
          <ul>
            {fresh.map((i) => (
              <li key={i.reference}>
                <button
                  type="button"
                  class="link"
                  onClick={() => props.onOpen(i.reference)}
                  aria-label={`${t.open} ${i.reference}`}
                >
                  {i.reference}
                </button>{' '}
                — {ctx.statusLabel(i.status)}, {t.lastMessage} {formatDate(i.lastFollowUpAt, lang)}
              </li>
            ))}
          </ul>
        </section>
      )}
      <form
        class="filters"
        aria-label={t.filters}
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        {info.inboxes.length > 1 && (
          <label>
            {t.inbox}
            <select {...field('inbox')}>
              <option value="">{t.all}</option>
              {info.inboxes.map((i) => (
                <option value={i.id}>{i.name}</option>
              ))}
            </select>
          </label>
        )}
        <label>
          {t.status}
          <select {...field('status')}>
            <option value="">{t.all}</option>
            {info.workflow.statuses.map((s) => (
              <option value={s.id}>{s.label[lang]}</option>
            ))}
          </select>
        </label>
        <label>
          {t.urgency}
          <select {...field('urgency')}>
            <option value="">{t.all}</option>
            {(['immediate', 'high', 'normal'] as const).map((u) => (
              <option value={u}>{t.urgencies[u]}</option>
            ))}
          </select>
        </label>
        <label>
          {t.kind}
          <select {...field('kind')}>
            <option value="">{t.all}</option>
            {(['youth', 'professional'] as const).map((k) => (
              <option value={k}>{t.kinds[k]}</option>
            ))}
          </select>
        </label>
        <label>
          {t.assigned}
          <select {...field('assignedTo')}>
            <option value="">{t.all}</option>
            <option value="me">{t.me}</option>
            <option value="none">{t.nobody}</option>
            {info.members.map((m) => (
              <option value={m.id}>{m.name}</option>
            ))}
          </select>
        </label>
        <label>
          {t.from}
          <input type="date" {...field('receivedFrom')} />
        </label>
        <label>
          {t.to}
          <input type="date" {...field('receivedTo')} />
        </label>
        <label>
          {t.sort}
          <select {...field('sort')}>
            <option value="received_desc">{t.newest}</option>
            <option value="received_asc">{t.oldest}</option>
          </select>
        </label>
        <button type="submit">{t.apply}</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table class="queue">
          <thead>
            <tr>
              <th scope="col">{t.reference}</th>
              <th scope="col">{t.received}</th>
              <th scope="col">{t.urgency}</th>
              <th scope="col">{t.kind}</th>
              <th scope="col">{t.status}</th>
              <th scope="col">{t.assigned}</th>
              <th scope="col">{t.due}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr class={i.due.overdue ? 'overdue' : ''} data-reference={i.reference}>
                <th scope="row">
                  <button
                    type="button"
                    class="link"
                    onClick={() => props.onOpen(i.reference)}
                    aria-label={`${t.open} ${i.reference}`}
                  >
                    {i.reference}
                  </button>
                  {i.newFollowUp && <span class="badge new-message">✉ {t.newMessage}</span>}
                </th>
                <td>{formatDate(i.receivedAt, lang)}</td>
                <td>
                  <span class={`badge urgency-${i.urgency}`}>{t.urgencies[i.urgency]}</span>
                </td>
                <td>{t.kinds[i.kind]}</td>
                <td>{ctx.statusLabel(i.status)}</td>
                <td>{ctx.memberName(i.assignedTo)}</td>
                <td>
                  {i.due.overdue === 'not_opened' && <strong class="late">⚠ {t.overdueOpen}</strong>}
                  {i.due.overdue === 'not_evaluated' && <strong class="late">⚠ {t.overdueEval}</strong>}
                  {!i.due.overdue && formatDate(i.due.openBy ?? i.due.evaluateBy, lang)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!loading && items.length === 0 && <p>{t.empty}</p>}
      {cursor && (
        <button type="button" disabled={loading} onClick={() => load(filters, cursor)}>
          {t.more}
        </button>
      )}
    </section>
  );
}
