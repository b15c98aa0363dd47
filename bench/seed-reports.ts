/**
 * Seeds N synthetic sealed reports (random-looking ciphertext, no content) straight into the reports table
 * of one inbox, with a sealed key for every member of that inbox, for the inbox queue benchmark.
 * Received times spread over the past N minutes; statuses and urgencies mixed like a real queue.
 *
 * Run: node --import tsx bench/seed-reports.ts <DATABASE_URL> [count=100000] [inbox=coordination]
 */
import pg from 'pg';

export async function seedReports(
  databaseUrl: string,
  count = 100_000,
  inbox = 'coordination',
): Promise<{ reports: number; keys: number; ms: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const t0 = performance.now();
  try {
    await client.query('BEGIN');
    const base = (await client.query<{ n: string }>('SELECT count(*) AS n FROM reports')).rows[0]!.n;
    const offset = Number(base);
    const reports = await client.query(
      `INSERT INTO reports (id, reference, inbox_id, flow_kind, channel, urgency, status, envelope_version,
                            nonce, ciphertext, received_at, updated_at)
       SELECT gen_random_uuid(),
              'R-S' || lpad(upper(to_hex(i + $3)), 5, '0'),
              $2,
              CASE WHEN i % 3 = 0 THEN 'professional' ELSE 'youth' END,
              CASE WHEN i % 2 = 0 THEN 'telegram' ELSE 'teams' END,
              CASE WHEN i % 10 = 0 THEN 'immediate' WHEN i % 4 = 0 THEN 'high' ELSE 'normal' END,
              CASE WHEN i % 5 = 0 THEN 'nouveau' WHEN i % 5 = 1 THEN 'evaluation' ELSE 'clos' END,
              1,
              md5(i::text || 'n'),
              repeat(md5(i::text), 40),
              now() - (i || ' minutes')::interval,
              now() - (i || ' minutes')::interval
         FROM generate_series(1, $1::int) AS i`,
      [count, inbox, offset],
    );
    const keys = await client.query(
      `INSERT INTO report_keys (report_id, coordinator_id, sealed_key)
       SELECT r.id, m.coordinator_id, repeat(md5(r.id::text), 2)
         FROM reports r JOIN inbox_members m ON m.inbox_id = r.inbox_id
        WHERE r.inbox_id = $1 AND r.reference LIKE 'R-S%'
       ON CONFLICT DO NOTHING`,
      [inbox],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE reports');
    await client.query('ANALYZE report_keys');
    return { reports: reports.rowCount ?? 0, keys: keys.rowCount ?? 0, ms: performance.now() - t0 };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, count, inbox] = process.argv.slice(2);
  if (!url) {
    process.stderr.write('usage: node --import tsx bench/seed-reports.ts <DATABASE_URL> [count] [inbox]\n');
    process.exit(2);
  }
  const r = await seedReports(url, count ? Number(count) : undefined, inbox);
  process.stdout.write(`seeded ${r.reports} reports, ${r.keys} sealed keys in ${Math.round(r.ms)} ms\n`);
}
