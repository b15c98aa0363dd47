/**
 * Monthly statistics computed here from decrypted reports (the server cannot compute them: it cannot read
 * the answers): counts by kind, urgency, status, observed signs and commune, a bar chart and a CSV download.
 */
import { useState } from 'preact/hooks';
import { api, type CaseDetail, type QueueItem } from './api.js';
import { flowLabels } from './case.js';
import type { Ctx } from './ctx.js';
import * as keys from './keys.js';

type Counts = Record<string, number>;
interface Stats {
  total: number;
  kind: Counts;
  urgency: Counts;
  status: Counts;
  signs: Counts;
  commune: Counts;
}

const SIGN_STEPS = ['signs', 'what_me', 'what_friend'];
const bump = (c: Counts, k: string) => {
  c[k] = (c[k] ?? 0) + 1;
};

function csvCell(s: string): string {
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function StatsView(props: { ctx: Ctx }) {
  const { ctx } = props;
  const { t, lang } = ctx;
  const now = new Date();
  const [month, setMonth] = useState(`${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`);
  const [stats, setStats] = useState<Stats | null>(null);
  const [busy, setBusy] = useState(false);

  async function compute() {
    setBusy(true);
    const [y, m] = month.split('-').map(Number) as [number, number];
    const from = new Date(y, m - 1, 1).toISOString();
    const to = new Date(y, m, 1).toISOString();
    const s: Stats = { total: 0, kind: {}, urgency: {}, status: {}, signs: {}, commune: {} };
    let cursor: string | null = null;
    try {
      do {
        const q = new URLSearchParams({
          receivedFrom: from,
          receivedTo: to,
          limit: '100',
          sort: 'received_asc',
        });
        if (cursor) q.set('cursor', cursor);
        const page: { items: QueueItem[]; nextCursor: string | null } = await api('GET', `/reports?${q}`);
        for (const item of page.items) {
          s.total++;
          bump(s.kind, t.kinds[item.kind]);
          bump(s.urgency, t.urgencies[item.urgency]);
          bump(s.status, ctx.statusLabel(item.status));
          if (!item.canOpen) continue;
          const c = await api<CaseDetail>(
            'GET',
            `/reports/${encodeURIComponent(item.reference)}?purpose=statistics`,
          );
          if (!c.sealedKey) continue;
          const p = keys.openCase({ ...c, sealedKey: c.sealedKey }) as {
            flow?: { id: string; version: number };
            answers?: Record<string, unknown>;
          };
          const labels = await flowLabels(p.flow);
          for (const step of SIGN_STEPS) {
            const v = p.answers?.[step];
            if (!Array.isArray(v)) continue;
            for (const o of v) {
              const l = labels?.steps[step]?.options?.[String(o)];
              bump(s.signs, l?.[lang] ?? l?.fr ?? String(o));
            }
          }
          const commune = p.answers?.commune;
          if (typeof commune === 'string' && commune.trim()) bump(s.commune, commune.trim().toUpperCase());
        }
        cursor = page.nextCursor;
      } while (cursor);
      setStats(s);
    } finally {
      setBusy(false);
    }
  }

  function download() {
    if (!stats) return;
    const lines = [['category', 'value', 'count'].join(',')];
    const groups: [string, Counts][] = [
      ['kind', stats.kind],
      ['urgency', stats.urgency],
      ['status', stats.status],
      ['sign', stats.signs],
      ['commune', stats.commune],
    ];
    lines.push(['total', '', String(stats.total)].join(','));
    for (const [g, counts] of groups)
      for (const [k, n] of Object.entries(counts)) lines.push([g, csvCell(k), String(n)].join(','));
    const blob = new Blob([`${lines.join('\r\n')}\r\n`], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `statistiques-${month}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    api('POST', '/exports', { kind: 'statistics_csv' }).catch(() => {});
  }

  const table = (title: string, counts: Counts) => {
    const max = Math.max(1, ...Object.values(counts));
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    return (
      <section class="stat">
        <h2>{title}</h2>
        <table>
          <tbody>
            {entries.map(([k, n]) => (
              <tr>
                <th scope="row">{k}</th>
                <td>
                  <meter min={0} max={max} value={n} aria-label={`${k}: ${n}`} />
                </td>
                <td class="num">{n}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    );
  };

  return (
    <section aria-labelledby="stats-title">
      <h1 id="stats-title">{t.stats}</h1>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          compute();
        }}
      >
        <label>
          {t.month}
          <input type="month" required value={month} onInput={(e) => setMonth(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {t.compute}
        </button>
        {stats && (
          <button type="button" onClick={download}>
            {t.csv}
          </button>
        )}
      </form>
      {stats && (
        <>
          <p>
            {t.total}: <strong>{stats.total}</strong>
          </p>
          <div class="stats-grid">
            {table(t.byKind, stats.kind)}
            {table(t.byUrgency, stats.urgency)}
            {table(t.byStatus, stats.status)}
            {table(t.bySign, stats.signs)}
            {table(t.byCommune, stats.commune)}
          </div>
        </>
      )}
    </section>
  );
}
