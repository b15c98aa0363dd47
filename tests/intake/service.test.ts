import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  changePassphrase,
  createCoordinator,
  grantAccess,
  listReports,
  showReport,
  unlock,
} from '../../src/coordinators/index.js';
import { decodeBytes, encodeBytes, generateCoordinatorKeyPair, initCrypto } from '../../src/crypto/index.js';
import { createIntake, type Intake } from '../../src/intake/index.js';
import { loggerOptions } from '../../src/logger.js';
import { type Database, findReportByReference, migrate } from '../../src/store/index.js';
import { DANGEROUS_TEST_ONLY_MASTER_KEY, LogCapture, testConfig, testKeyring } from '../helper.js';
import { backends } from '../support/databases.js';
import { insertSignedReply } from '../support/replies.js';
import { professionalWalk, runWalk, youthWalk } from '../support/walks.js';

const PASS = 'correct horse battery staple';
const INBOXES = ['coordination', 'pro93'];

for (const backend of backends()) {
  describe(`submission pipeline [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let intake: Intake;
    const logs = new LogCapture();
    const config = testConfig();
    // Two inboxes: professionals about a minor in Seine-Saint-Denis go to pro93, everything else to coordination.
    config.inboxes = [
      { id: 'coordination', name: 'Coordination 93' },
      { id: 'pro93', name: 'Professionnels 93' },
    ];
    config.routing = {
      rules: [
        { inbox: 'pro93', match: { kind: ['professional'], answers: { territory: ['seine_saint_denis'] } } },
        { inbox: 'coordination', match: { kind: ['youth'] }, urgency: 'high' },
        { inbox: 'coordination' },
      ],
    };

    beforeAll(async () => {
      await initCrypto();
      ({ db, cleanup } = await backend.open());
      await migrate(db);
      intake = await createIntake({
        config,
        db,
        masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
        logger: pino(loggerOptions('debug'), logs),
      });
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('refuses a submission when the inbox has no coordinator key, keeps the answers, and says whom to call', async () => {
      const user = `u-${randomUUID()}`;
      const walk = await runWalk(intake.service, {
        user,
        payload: 'jeune',
        lang: 'fr',
        actions: youthWalk((i) => `réponse ${i}`),
      });
      expect(walk.reference).toBeUndefined();
      const last = walk.outcomes.at(-1)!;
      const text = last.replies.map((r) => ('text' in r ? r.text : '')).join(' ');
      expect(text).toMatch(/119/);
      expect(text).toMatch(/17/);
      expect((await db.query('SELECT count(*)::int AS n FROM reports')).rows[0]).toEqual({ n: 0 });
      // The conversation is kept (sealed) so nothing is lost; the log line says why, without content.
      expect((await db.query('SELECT count(*)::int AS n FROM conversations')).rows[0]).toEqual({ n: 1 });
      expect(logs.text).toContain('submission refused: the inbox has no coordinator key');
      expect(logs.text).not.toContain('réponse 1');
      await intake.service.forget('cli', user);
    });

    it('seals a youth report to the inbox coordinators, routes it, and deletes the conversation in the same statement', async () => {
      await createCoordinator(
        db,
        await testKeyring(),
        { name: 'Camille', login: 'camille', inbox: 'coordination', passphrase: PASS },
        INBOXES,
      );
      await createCoordinator(
        db,
        await testKeyring(),
        { name: 'Pat', login: 'pat', inbox: 'pro93', passphrase: PASS },
        INBOXES,
      );
      const user = `u-${randomUUID()}`;
      const walk = await runWalk(intake.service, {
        user,
        payload: 'jeune',
        lang: 'fr',
        actions: youthWalk((i) => `texte libre ${i}`),
      });
      expect(walk.reference).toMatch(/^R-[2-9A-Z]{6}$/);
      expect(walk.receipt).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      expect((await db.query('SELECT count(*)::int AS n FROM conversations')).rows[0]).toEqual({ n: 0 });
      const row = await findReportByReference(db, walk.reference!);
      expect(row).toMatchObject({
        inbox_id: 'coordination',
        flow_kind: 'youth',
        channel: 'cli',
        urgency: 'immediate',
      });
      const me = await unlock(db, await testKeyring(), 'camille', PASS);
      const opened = await showReport(db, me, walk.reference!);
      expect(opened.payload).toMatchObject({
        kind: 'youth',
        channel: 'cli',
        lang: 'fr',
        flow: { id: 'youth', version: 3 },
        answers: { safety: 'unsafe', for_whom: 'me', more: 'texte libre 1', phone: 'texte libre 2' },
      });
      // Pat (another inbox) cannot read it.
      const pat = await unlock(db, await testKeyring(), 'pat', PASS);
      await expect(showReport(db, pat, walk.reference!)).rejects.toThrow(
        `no report ${walk.reference} in your inboxes`,
      );
    });

    it('routes by answers and raises urgency by rule', async () => {
      const walk = await runWalk(intake.service, {
        user: `u-${randomUUID()}`,
        payload: 'pro',
        lang: 'fr',
        actions: professionalWalk((i) => `pro ${i}`),
      });
      const row = await findReportByReference(db, walk.reference!);
      expect(row).toMatchObject({ inbox_id: 'pro93', flow_kind: 'professional', urgency: 'immediate' });
      const pat = await unlock(db, await testKeyring(), 'pat', PASS);
      expect((await showReport(db, pat, walk.reference!)).payload.answers).toMatchObject({
        territory: 'seine_saint_denis',
        description: 'pro 4',
      });
    });

    it('lets the submitter read a coordinator reply with /suivi and the receipt, and nothing else', async () => {
      const user = `u-${randomUUID()}`;
      const walk = await runWalk(intake.service, {
        user,
        payload: 'jeune',
        lang: 'fr',
        actions: youthWalk((i) => `x${i}`),
      });
      const row = await findReportByReference(db, walk.reference!);
      // The coordinator's client seals the reply to the receipt public key and signs it; the server stores it.
      const replyId = await insertSignedReply(db, {
        reportId: row!.id,
        receiptPublicKey: row!.receipt_public_key!,
        text: 'Bonjour, nous pouvons te rappeler demain.',
        login: 'camille',
        passphrase: PASS,
      });
      const asker = `u-${randomUUID()}`;
      const ok = await runWalk(intake.service, {
        user: asker,
        payload: 'jeune',
        lang: 'fr',
        actions: [{ say: `/suivi ${walk.receipt!.toLowerCase()}` }],
      });
      expect(JSON.stringify(ok.outcomes.at(-1)!.replies)).toContain(
        'Bonjour, nous pouvons te rappeler demain.',
      );
      const wrong = await runWalk(intake.service, {
        user: `u-${randomUUID()}`,
        payload: 'jeune',
        lang: 'fr',
        actions: [{ say: '/suivi ABCD-EFGH-JKMN-PQRS' }],
      });
      const none = JSON.stringify(wrong.outcomes.at(-1)!.replies);
      expect(none).toContain('Aucune réponse pour ce code');
      expect(none).not.toContain('Bonjour');

      // A database writer changes one byte of the signature: the reply is no longer shown, and the log
      // says so without its content.
      const stored = (
        await db.query<{ signature: string }>('SELECT signature FROM report_replies WHERE id = $1', [replyId])
      ).rows[0]!.signature;
      const bytes = decodeBytes(stored);
      bytes[10] = bytes[10]! ^ 0x01;
      await db.query('UPDATE report_replies SET signature = $2 WHERE id = $1', [replyId, encodeBytes(bytes)]);
      const forged = await runWalk(intake.service, {
        user: `u-${randomUUID()}`,
        payload: 'jeune',
        lang: 'fr',
        actions: [{ say: `/suivi ${walk.receipt!}` }],
      });
      const shown = JSON.stringify(forged.outcomes.at(-1)!.replies);
      expect(shown).not.toContain('Bonjour');
      expect(shown).toContain('Aucune réponse pour ce code');
      expect(logs.text).toContain('reply fails signature verification: not shown');
      expect(logs.text).not.toContain('rappeler demain');

      // So is an unsigned reply written straight into the database (no signature, no migration attestation).
      await db.query('UPDATE report_replies SET signature = NULL WHERE id = $1', [replyId]);
      const unsigned = await runWalk(intake.service, {
        user: `u-${randomUUID()}`,
        payload: 'jeune',
        lang: 'fr',
        actions: [{ say: `/suivi ${walk.receipt!}` }],
      });
      expect(JSON.stringify(unsigned.outcomes.at(-1)!.replies)).not.toContain('Bonjour');
    });

    it('seals nothing to a membership added behind the service’s back, and says so in the log', async () => {
      const foreign = generateCoordinatorKeyPair();
      const mallory = randomUUID();
      await db.query(
        `INSERT INTO coordinators (id, login, display_name, public_key, wrapped_private_key, pwhash_salt, login_key_hash)
         VALUES ($1, 'mallory', 'Mallory', $2, 'x', 'x', 'x')`,
        [mallory, encodeBytes(foreign.publicKey)],
      );
      // Without a MAC, and with a MAC copied from a real member's row: neither verifies.
      const copied = (
        await db.query<{ mac: string }>(
          "SELECT mac FROM inbox_members WHERE inbox_id = 'coordination' AND mac IS NOT NULL LIMIT 1",
        )
      ).rows[0]!.mac;
      await db.query(
        "INSERT INTO inbox_members (inbox_id, coordinator_id, mac) VALUES ('coordination', $1, $2)",
        [mallory, copied],
      );
      const walk = await runWalk(intake.service, {
        user: `u-${randomUUID()}`,
        payload: 'jeune',
        lang: 'fr',
        actions: youthWalk((i) => `m${i}`),
      });
      expect(walk.reference).toMatch(/^R-/);
      const row = await findReportByReference(db, walk.reference!);
      const sealedTo = (
        await db.query<{ coordinator_id: string }>(
          'SELECT coordinator_id FROM report_keys WHERE report_id = $1',
          [row!.id],
        )
      ).rows.map((r) => r.coordinator_id);
      expect(sealedTo.length).toBeGreaterThan(0);
      expect(sealedTo).not.toContain(mallory);
      expect(logs.text).toContain('inbox membership fails the integrity check: not sealed to it');
      await db.query('DELETE FROM inbox_members WHERE coordinator_id = $1', [mallory]);
      await db.query('DELETE FROM coordinators WHERE id = $1', [mallory]);
    });

    it('throttles receipt guessing per user', async () => {
      const user = `u-${randomUUID()}`;
      const answers: string[] = [];
      for (let i = 0; i < 7; i++) {
        const w = await runWalk(intake.service, {
          user,
          payload: 'jeune',
          lang: 'fr',
          actions: [{ say: `/suivi 0000-0000-0000-000${i}` }],
        });
        answers.push(JSON.stringify(w.outcomes.at(-1)!.replies));
      }
      expect(answers.slice(0, 5).every((a) => a.includes('Aucune réponse'))).toBe(true);
      expect(answers.slice(5).every((a) => a.includes('Trop d’essais'))).toBe(true);
    });

    it('processes a redelivered event once', async () => {
      const user = `u-${randomUUID()}`;
      const turn = {
        kind: 'start' as const,
        now: Date.now(),
        payload: 'jeune',
        capabilities: { buttons: true, deleteMessages: false },
      };
      const a = await intake.service.handleTurn({
        channel: 'cli',
        platformUserId: user,
        turn,
        eventId: '42',
      });
      const b = await intake.service.handleTurn({
        channel: 'cli',
        platformUserId: user,
        turn,
        eventId: '42',
      });
      expect(a.replies.length).toBeGreaterThan(0);
      expect(b).toMatchObject({ duplicate: true, replies: [] });
      await intake.service.forget('cli', user);
    });

    it('grants a coordinator added later, changes a passphrase, and refuses a wrong one', async () => {
      await createCoordinator(
        db,
        await testKeyring(),
        { name: 'Dominique', login: 'dominique', inbox: 'pro93', passphrase: PASS },
        INBOXES,
      );
      const dom = await unlock(db, await testKeyring(), 'dominique', PASS);
      const before = await listReports(db, dom, {});
      expect(before.every((r) => r.payload === null)).toBe(true); // member of pro93 but nothing sealed to them yet
      const camille = await unlock(db, await testKeyring(), 'camille', PASS);
      const granted = await grantAccess(db, camille, 'dominique', 'coordination', await testKeyring());
      expect(granted.resealed).toBeGreaterThan(0);
      const after = await listReports(db, await unlock(db, await testKeyring(), 'dominique', PASS), {
        inbox: 'coordination',
      });
      expect(after.length).toBe(granted.resealed);
      expect(after.every((r) => r.payload && (r.payload as { kind?: string }).kind === 'youth')).toBe(true);
      await changePassphrase(db, await testKeyring(), dom, 'another long passphrase 2');
      await expect(unlock(db, await testKeyring(), 'dominique', PASS)).rejects.toThrow(
        'wrong login or passphrase',
      );
      await expect(unlock(db, await testKeyring(), 'nobody', PASS)).rejects.toThrow(
        'wrong login or passphrase',
      );
      const again = await unlock(db, await testKeyring(), 'dominique', 'another long passphrase 2');
      expect((await listReports(db, again, { inbox: 'coordination' })).length).toBe(granted.resealed);
    });

    it('refuses a tampered ciphertext and a ciphertext moved to another report', async () => {
      const camille = await unlock(db, await testKeyring(), 'camille', PASS);
      const [a, b] = (await listReports(db, camille, { inbox: 'coordination' })).slice(0, 2);
      const rowA = await findReportByReference(db, a!.reference);
      const rowB = await findReportByReference(db, b!.reference);
      // Swap: B's ciphertext and nonce put on A's row (A's data key then opens nothing).
      await db.query('UPDATE reports SET ciphertext = $2, nonce = $3 WHERE id = $1', [
        rowA!.id,
        rowB!.ciphertext,
        rowB!.nonce,
      ]);
      await expect(showReport(db, camille, a!.reference)).rejects.toThrow(/openReport/);
      const flipped = `${rowB!.ciphertext.slice(0, 10)}${rowB!.ciphertext[10] === 'A' ? 'B' : 'A'}${rowB!.ciphertext.slice(11)}`;
      await db.query('UPDATE reports SET ciphertext = $2 WHERE id = $1', [rowB!.id, flipped]);
      await expect(showReport(db, camille, b!.reference)).rejects.toThrow(/openReport/);
      await db.query('UPDATE reports SET ciphertext = $2, nonce = $3 WHERE id = $1', [
        rowA!.id,
        rowA!.ciphertext,
        rowA!.nonce,
      ]);
      expect((await showReport(db, camille, a!.reference)).reference).toBe(a!.reference);
    });
  });
}

describe('opt-in reply notice to the submitter', () => {
  it('seals the channel address only on opt-in, sends a contentless notice, and forgets it at closing', async () => {
    const db = await (await import('../../src/store/index.js')).openEmbedded();
    await migrate(db);
    const logs = new LogCapture();
    const intake = await createIntake({
      config: testConfig(),
      db,
      masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
      logger: pino(loggerOptions('debug'), logs),
    });
    await createCoordinator(
      db,
      await testKeyring(),
      { name: 'C', login: 'camille', inbox: 'coordination', passphrase: PASS },
      ['coordination'],
    );
    const sent: { address: string; lang: string }[] = [];
    intake.service.registerNotifier('cli', async (address, lang) => {
      sent.push({ address, lang });
    });
    const walkWith = async (notify: 'yes' | 'no', user: string) => {
      // runWalk does not pass notifyAddress: drive the same walk through a wrapper that adds it.
      const service = intake.service;
      const wrapped = {
        handleTurn: (input: Parameters<typeof service.handleTurn>[0]) =>
          service.handleTurn({ ...input, notifyAddress: `chat-${user}` }),
      } as unknown as typeof service;
      return runWalk(wrapped, {
        user,
        payload: 'jeune',
        lang: 'fr',
        actions: [
          { press: 'safe' },
          { press: 'me' },
          { press: '$skip' },
          { tick: ['asked'] },
          { press: '$skip' },
          { tick: ['talk'] },
          { press: 'receipt' },
          { press: notify },
          { press: '$confirm' },
        ],
      });
    };
    const no = await walkWith('no', 'u-no');
    const yes = await walkWith('yes', 'u-yes');
    const rowNo = await findReportByReference(db, no.reference!);
    const rowYes = await findReportByReference(db, yes.reference!);
    const contact = async (id: string) =>
      (await db.query<{ c: string | null }>('SELECT contact_sealed AS c FROM reports WHERE id = $1', [id]))
        .rows[0]!.c;
    expect(await contact(rowNo!.id)).toBeNull();
    const sealed = await contact(rowYes!.id);
    expect(sealed).toBeTruthy();
    expect(sealed).not.toContain('chat-u-yes');
    expect(await intake.service.notifySubmitter(rowNo!.id)).toBe(false);
    expect(await intake.service.notifySubmitter(rowYes!.id)).toBe(true);
    expect(sent).toEqual([{ address: 'chat-u-yes', lang: 'fr' }]);
    // Closing the case forgets the address.
    await db.query(
      `UPDATE reports SET status = 'clos', closed_at = now(), contact_sealed = NULL WHERE id = $1`,
      [rowYes!.id],
    );
    expect(await intake.service.notifySubmitter(rowYes!.id)).toBe(false);
    expect(logs.text).not.toContain('chat-u-yes');
    await db.close();
  });
});

describe('outbox: replies of a turn survive an instance dying before it sends them', () => {
  it('hands the unsent replies back on the redelivery, and nothing once delivery is confirmed', async () => {
    const db = await (await import('../../src/store/index.js')).openEmbedded();
    await migrate(db);
    const intake = await createIntake({
      config: testConfig(),
      db,
      masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
      logger: pino(loggerOptions('warn'), new LogCapture()),
    });
    const caps = { buttons: true, deleteMessages: false };
    const user = 'tg-4242';
    const start = { kind: 'start' as const, now: Date.now(), payload: 'jeune', capabilities: caps };
    await intake.service.handleTurn({
      channel: 'telegram',
      platformUserId: user,
      turn: start,
      eventId: '1',
      outbox: true,
    });
    await intake.service.recordChannelData('telegram', user, undefined, '1');
    const press = {
      kind: 'choice' as const,
      now: Date.now(),
      stepId: 'safety',
      optionId: 'safe',
      capabilities: caps,
    };
    const first = await intake.service.handleTurn({
      channel: 'telegram',
      platformUserId: user,
      turn: press,
      eventId: '2',
      outbox: true,
    });
    expect(first.replies.length).toBeGreaterThan(0);
    // The instance "dies" here: nothing confirmed. The platform redelivers update 2.
    const again = await intake.service.handleTurn({
      channel: 'telegram',
      platformUserId: user,
      turn: press,
      eventId: '2',
      outbox: true,
    });
    expect(again.duplicate).toBe(true);
    expect(again.replies).toEqual(first.replies);
    // The outbox entry rides in the conversation row, sealed: the question's text is not readable in it.
    expect((await db.query('SELECT count(*)::int AS n FROM pending_replies')).rows[0]).toEqual({ n: 0 });
    const raw = await db.query<{ outbox: Uint8Array }>(
      'SELECT outbox FROM conversations WHERE outbox IS NOT NULL',
    );
    expect(raw.rows).toHaveLength(1);
    expect(Buffer.from(raw.rows[0]!.outbox).toString('latin1')).not.toContain('pour toi');
    // Sent and confirmed: a later redelivery gets nothing, and the row is gone.
    await intake.service.recordChannelData('telegram', user, undefined, '2');
    const third = await intake.service.handleTurn({
      channel: 'telegram',
      platformUserId: user,
      turn: press,
      eventId: '2',
      outbox: true,
    });
    expect(third).toMatchObject({ duplicate: true, replies: [] });
    expect((await db.query('SELECT count(*)::int AS n FROM pending_replies')).rows[0]).toEqual({ n: 0 });
    expect(
      (await db.query('SELECT count(*)::int AS n FROM conversations WHERE outbox IS NOT NULL')).rows[0],
    ).toEqual({ n: 0 });
    // /effacer and forget remove what is pending too.
    await intake.service.handleTurn({
      channel: 'telegram',
      platformUserId: user,
      turn: { ...press, stepId: 'for_whom', optionId: 'me' },
      eventId: '3',
      outbox: true,
    });
    await intake.service.forget('telegram', user);
    expect((await db.query('SELECT count(*)::int AS n FROM pending_replies')).rows[0]).toEqual({ n: 0 });
    expect((await db.query('SELECT count(*)::int AS n FROM conversations')).rows[0]).toEqual({ n: 0 });
    await db.close();
  });
});
