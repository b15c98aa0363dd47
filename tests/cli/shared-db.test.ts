// The README's path, with real processes: the service runs on the embedded database and `intake` commands
// run next to it in another "terminal". They go through the service's database (its Unix socket), so what
// they write is seen at once and kept; the data directory has one owner; a killed service's lock is
// recovered; a directory held by a process that does not share it is a clear error, not a second writer.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBytes, deriveLoginKeys, encodeBytes, initCrypto } from '../../src/crypto/index.js';
import { SESSION_COOKIE } from '../../src/inbox/index.js';
import { LOCK_FILE } from '../../src/store/lock.js';
import { SOCKET_FILE } from '../../src/store/share.js';
import { intake, intakeAsync, spawnIntake } from '../support/cli.js';
import { startService, waitFor } from '../support/service.js';

const PASS = 'correct horse battery staple';
const YOUTH = [
  '1',
  '1',
  '3',
  '2, 4',
  'Il me demande de voir des gens que je ne connais pas.',
  '1',
  '1',
  '2',
  '1',
];

describe('intake commands next to the running service (embedded database)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'intake-shared-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const base = `http://127.0.0.1:${port}`;
  const env = { INTAKE_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'test' };
  const cli = { INTAKE_DATA_DIR: dataDir, INTAKE_PASSPHRASE: PASS };
  let service: ReturnType<typeof startService>;
  let reference = '';

  const readyz = async () =>
    (await (await fetch(`${base}/readyz`)).json()) as { checks: Record<string, string> };
  async function start() {
    service = startService(env);
    await waitFor(
      async () => {
        if (service.child.exitCode !== null) throw new Error(`service exited: ${service.out.stderr}`);
        return fetch(`${base}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      90_000,
      'the service',
    );
  }

  /** Logs in as the browser does (Argon2id in the client); returns the session cookie and CSRF token. */
  async function login(name: string) {
    await initCrypto();
    const post = (url: string, body: unknown) =>
      fetch(`${base}${url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const { salt } = (await (await post('/api/v1/auth/salt', { login: name })).json()) as { salt: string };
    const keys = deriveLoginKeys(PASS, decodeBytes(salt));
    const res = await post('/api/v1/auth/login', { login: name, loginKey: encodeBytes(keys.loginKey) });
    expect(res.status).toBe(200);
    const cookie = res.headers
      .getSetCookie()
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.split(';')[0];
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    return { cookie: cookie ?? '', csrf: csrfToken };
  }

  async function listedReferences(name: string): Promise<string[]> {
    const s = await login(name);
    const res = await fetch(`${base}/api/v1/reports`, {
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: Array<{ reference: string }> };
    return body.items.map((i) => i.reference);
  }

  beforeAll(async () => {
    await start();
  }, 120_000);

  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await service?.done;
  });

  it('sees a coordinator added from the CLI at once (readiness, login)', async () => {
    expect((await readyz()).checks.inboxes).toMatch(/^warning: /);
    const r = await intakeAsync(
      ['coordinator', 'add', '--name', 'Camille Coord', '--login', 'camille', '--inbox', 'coordination'],
      cli,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await readyz()).checks.inboxes).toBe('ok');
    await login('camille');
  }, 120_000);

  it('lists a report filed with `intake chat`', async () => {
    const r = await intakeAsync(['chat', 'youth'], cli, `${YOUTH.join('\n')}\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    reference = r.stdout.match(/Référence : (R-[2-9A-Z]{6})/)?.[1] ?? '';
    expect(reference, r.stdout.slice(-800)).not.toBe('');
    expect(await listedReferences('camille')).toContain(reference);
  }, 120_000);

  it('runs two commands at once, one after the other on the database', async () => {
    const [added, listed] = await Promise.all([
      intakeAsync(
        [
          'coordinator',
          'add',
          '--name',
          'Dominique Coord',
          '--login',
          'dominique',
          '--inbox',
          'coordination',
        ],
        cli,
      ),
      intakeAsync(['reports', 'list', '--login', 'camille'], cli),
    ]);
    expect([added.code, added.stderr]).toEqual([0, '']);
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    expect(listed.stdout).toContain(reference);
    await login('dominique');
  }, 120_000);

  it('keeps what the CLI wrote over a restart, and leaves no lock or socket after a clean stop', async () => {
    service.child.kill('SIGTERM');
    const stopped = await service.done;
    expect(stopped.code).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    expect(existsSync(join(dataDir, SOCKET_FILE))).toBe(false);
    await start();
    expect(await listedReferences('camille')).toContain(reference);
  }, 120_000);

  it('recovers the lock a killed service leaves', async () => {
    service.child.kill('SIGKILL');
    await service.done;
    const left = readFileSync(join(dataDir, LOCK_FILE), 'utf8');
    expect(left).toBe(`${service.child.pid}\nservice\n`);
    await start();
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).toBe(`${service.child.pid}\nservice\n`);
    const listed = await intakeAsync(['reports', 'list', '--login', 'camille'], cli);
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    expect(listed.stdout).toContain(reference);
  }, 120_000);
});

describe('intake commands without the service', () => {
  it('own the database for their run and leave no lock behind', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-alone-'));
    const r = intake(['migrate'], { INTAKE_DATA_DIR: dataDir });
    expect(r.code).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    expect(existsSync(join(dataDir, SOCKET_FILE))).toBe(false);
  });

  it('run one after the other when started at once, and release the lock on Ctrl-C', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-two-'));
    const env = { INTAKE_DATA_DIR: dataDir, INTAKE_PASSPHRASE: PASS };
    const add = (login: string) =>
      intakeAsync(
        ['coordinator', 'add', '--name', `${login} Coord`, '--login', login, '--inbox', 'coordination'],
        env,
      );
    expect((await add('alix')).code).toBe(0);
    // A chat waiting for its answers holds the database; a second command started meanwhile waits for it
    // (no timing assumption beyond the wait: the chat ends as soon as its answers arrive).
    const chat = spawnIntake(['chat', 'youth'], env);
    await waitFor(() => existsSync(join(dataDir, LOCK_FILE)), 60_000, 'the chat to hold the lock');
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).toBe(`${chat.child.pid}\ncommand\n`);
    const second = add('sacha');
    await new Promise((r) => setTimeout(r, 1000));
    chat.child.stdin.end(`${YOUTH.join('\n')}\n`);
    const [chatted, added] = await Promise.all([chat.done, second]);
    expect([chatted.code, chatted.stderr]).toEqual([0, '']);
    expect([added.code, added.stderr]).toEqual([0, '']);
    const ref = chatted.stdout.match(/Référence : (R-[2-9A-Z]{6})/)?.[1];
    expect(ref, chatted.stdout.slice(-800)).toBeDefined();
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    // Both wrote to the one database.
    expect(intake(['reports', 'list', '--login', 'alix'], env).stdout).toContain(ref);
    expect(intake(['reports', 'list', '--login', 'sacha'], env).code).toBe(0);

    // Ctrl-C in the middle of a chat: the database is closed and the lock released.
    const interrupted = spawnIntake(['chat', 'youth'], env);
    await waitFor(() => existsSync(join(dataDir, LOCK_FILE)), 60_000, 'the chat to hold the lock');
    await waitFor(() => interrupted.out.stdout.includes('bot>'), 60_000, 'the first question');
    interrupted.child.kill('SIGINT');
    const end = await interrupted.done;
    expect(end.code).toBe(130);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  }, 180_000);

  it('wait for a live owner that does not share the database, then fail in one line', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-busy-'));
    // Another command mid-run, as far as the lock says: a live process.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataDir, LOCK_FILE), `${other.pid}\ncommand\n`);
      const started = Date.now();
      const r = await intakeAsync(['migrate'], { INTAKE_DATA_DIR: dataDir });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `intake: the embedded database in ${dataDir} is in use by process ${other.pid} (another intake command); wait for it to finish or stop it\n`,
      );
      // It waited (about 10 s) before giving up.
      expect(Date.now() - started).toBeGreaterThanOrEqual(9000);
      expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).toBe(`${other.pid}\ncommand\n`);
    } finally {
      other.kill('SIGKILL');
    }
  }, 120_000);
});
