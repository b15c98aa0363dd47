import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendAudit, type Database, openEmbedded } from '../../src/store/index.js';
import { intake } from '../support/cli.js';

/** Opens the CLI's embedded database in this process (the CLI is not running meanwhile). */
async function withData<T>(dataDir: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openEmbedded(join(dataDir, 'pgdata'));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** A migrated embedded database with five audit entries. */
async function trail(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'intake-audit-'));
  expect(intake(['migrate'], { INTAKE_DATA_DIR: dataDir }).code).toBe(0);
  await withData(dataDir, async (db) => {
    for (const detail of ['a', 'b', 'c', 'd', 'e']) {
      await appendAudit(db, { actorId: null, action: 'login_failed', detail });
    }
  });
  return dataDir;
}

/** Tampering behind the service's back: the owner lifts the append-only trigger for one statement. */
async function tamper(dataDir: string, sql: string) {
  await withData(dataDir, async (db) => {
    await db.exec(
      `ALTER TABLE audit_log DISABLE TRIGGER USER; ${sql}; ALTER TABLE audit_log ENABLE TRIGGER USER;`,
    );
  });
}

describe('intake audit verify', () => {
  it('passes on a clean chain and prints the head hash, which --head then finds', async () => {
    const dataDir = await trail();
    const head = await withData(
      dataDir,
      async (db) =>
        (await db.query<{ hash: string }>('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0]!
          .hash,
    );
    const r = intake(['audit', 'verify'], { INTAKE_DATA_DIR: dataDir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('audit chain intact: 5 entries');
    expect(r.stdout).toContain(`head ${head}`);
    const again = intake(['audit', 'verify', '--head', head], { INTAKE_DATA_DIR: dataDir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('the head given with --head is in the chain');
  });

  it('fails naming the entry after an UPDATE of one row', async () => {
    const dataDir = await trail();
    await tamper(dataDir, `UPDATE audit_log SET detail = 'x' WHERE seq = 3`);
    const r = intake(['audit', 'verify'], { INTAKE_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/BROKEN at entry 3 \(id \d+\): changed/);
  });

  it('fails naming the entry after a DELETE of a middle row', async () => {
    const dataDir = await trail();
    await tamper(dataDir, 'DELETE FROM audit_log WHERE seq = 2');
    const r = intake(['audit', 'verify'], { INTAKE_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('BROKEN at entry 2: deleted: entry 2 is missing (deleted)');
  });

  it('fails when entries are cut from the end and the head record rewritten, given the head written down', async () => {
    const dataDir = await trail();
    const first = intake(['audit', 'verify'], { INTAKE_DATA_DIR: dataDir });
    const written = /head ([0-9a-f]{64})/.exec(first.stdout)![1]!;
    await tamper(
      dataDir,
      `DELETE FROM audit_log WHERE seq = 5; UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4)`,
    );
    const r = intake(['audit', 'verify', '--head', written], { INTAKE_DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('NOT in the chain');
  });

  it('says what it checks in --help', () => {
    const r = intake(['audit', 'verify', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: intake audit verify');
    expect(r.stdout).toMatch(/head hash/);
    expect(r.stdout).toMatch(/changed.*\n.*deleted.*\n.*reordered/);
  });
});
