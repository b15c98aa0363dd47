/**
 * The audit trail (admins): who did what to which case and when; never content. CSV export, and the head
 * of the hash chain (`GET /admin/audit/head`) to write down and compare with `intake audit verify`.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import type { Ctx } from './ctx.js';
import { formatDate } from './queue.js';

interface Entry {
  id: string;
  at: string;
  actorName: string | null;
  action: string;
  reference: string | null;
  detail: string | null;
}

export function AuditView(props: { ctx: Ctx }) {
  const { t, lang } = props.ctx;
  const [items, setItems] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [head, setHead] = useState<{ head: string; count: number } | null>(null);
  const load = async (before?: string) => {
    const page = await api<{ items: Entry[]; nextBefore: string | null }>(
      'GET',
      `/audit?limit=100${before ? `&before=${before}` : ''}`,
    );
    setItems((prev) => (before ? [...prev, ...page.items] : page.items));
    setNext(page.nextBefore);
  };
  useEffect(() => {
    load();
    api<{ head: string; count: number }>('GET', '/admin/audit/head').then(setHead, () => setHead(null));
  }, []);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">{t.audit}</h1>
      {head && (
        <div class="audit-head">
          <h2 id="audit-head-title">{t.auditHead}</h2>
          <p>
            <code data-testid="audit-head" class="hash">
              {head.head}
            </code>{' '}
            ({head.count} {t.entries})
          </p>
          <p class="muted">{t.auditHeadHelp}</p>
        </div>
      )}
      <p>
        <a href="/api/v1/audit?format=csv" download="audit.csv">
          {t.exportCsv}
        </a>
      </p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t.when}</th>
              <th scope="col">{t.actor}</th>
              <th scope="col">{t.action}</th>
              <th scope="col">{t.reference}</th>
              <th scope="col">{t.detail}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr>
                <td>{formatDate(e.at, lang)}</td>
                <td>{e.actorName ?? '—'}</td>
                <td>{e.action}</td>
                <td>{e.reference ?? ''}</td>
                <td>{e.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {next && (
        <button type="button" onClick={() => load(next)}>
          {t.more}
        </button>
      )}
    </section>
  );
}
