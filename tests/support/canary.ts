/**
 * The canary scan: looks for marker strings in every column of every table (as text, as bytes, and in
 * their base64 and hex forms at every alignment) and in captured log output.
 */
import type { Queryable } from '../../src/store/index.js';

/** The forms a marker could take once stored: itself, hex, and base64/base64url at the 3 alignments. */
export function markerForms(marker: string): string[] {
  const bytes = Buffer.from(marker, 'utf8');
  const forms = new Set<string>([
    marker,
    marker.toLowerCase(),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
  ]);
  for (let offset = 0; offset < 3; offset++) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Drop the characters that depend on the bytes around the marker.
    const core = b64.slice(Math.ceil((offset * 4) / 3) + 1, -4);
    if (core.length >= 8) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...forms];
}

/** Every value of every user table, as text (bytea as raw latin1, hex and base64). */
export async function dumpDatabase(
  db: Queryable,
): Promise<{ table: string; column: string; text: string }[]> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  const out: { table: string; column: string; text: string }[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await db.query<Record<string, unknown>>(`SELECT * FROM "${table_name}"`);
    for (const row of rows.rows) {
      for (const [column, value] of Object.entries(row)) {
        if (value === null || value === undefined) continue;
        if (value instanceof Uint8Array) {
          const b = Buffer.from(value);
          out.push({
            table: table_name,
            column,
            text: `${b.toString('latin1')} ${b.toString('hex')} ${b.toString('base64')}`,
          });
        } else {
          out.push({
            table: table_name,
            column,
            text: typeof value === 'string' ? value : JSON.stringify(value),
          });
        }
      }
    }
  }
  return out;
}

/** Where any form of any marker appears (empty when clean). */
export function findMarkers(haystack: { where: string; text: string }[], markers: string[]): string[] {
  const hits: string[] = [];
  for (const marker of markers) {
    for (const form of markerForms(marker)) {
      for (const h of haystack) if (h.text.includes(form)) hits.push(`${h.where}: ${form}`);
    }
  }
  return hits;
}
