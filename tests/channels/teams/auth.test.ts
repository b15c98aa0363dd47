/**
 * Authentication and start-up checks of the Teams channel: with an app id, botbuilder validates the Bot
 * Framework JWT and a request without a valid token is refused before anything is processed; without an
 * app id the app refuses to build in production.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadTeamsConfig } from '../../../src/channels/teams/config.js';
import type { Database } from '../../../src/store/index.js';
import { buildTestApp, type TestApp, testConfig } from '../../helper.js';
import { FakeConnector, listen, TeamsClient } from './support.js';

const APP_ENV = {
  MicrosoftAppId: '6a1f9c7e-2b4d-4e8f-9a3c-5d7e1f2a4b6c',
  MicrosoftAppPassword: 'dangerous-test-only-password',
  MicrosoftAppType: 'SingleTenant',
  MicrosoftAppTenantId: '0f1e2d3c-4b5a-4968-8776-655443322110',
};

async function count(db: Database, table: string): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return r.rows[0]!.n;
}

describe('Teams with an app id configured', () => {
  let connector: FakeConnector;
  let t: TestApp;
  let base: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    Object.assign(process.env, APP_ENV);
    connector = await new FakeConnector().start();
    t = await buildTestApp();
    base = await listen(t.app);
  });
  afterAll(async () => {
    process.env = saved;
    await t?.close();
    await connector?.stop();
  });

  it('refuses a request without a valid token (401) and processes nothing', async () => {
    const consoleError = vi.spyOn(console, 'error');
    const consoleWarn = vi.spyOn(console, 'warn');
    try {
      for (const authorization of [undefined, 'Bearer not.a.jwt', 'Basic abc']) {
        const c = new TeamsClient(base, connector, undefined, authorization ? { authorization } : {});
        const r = await c.post(c.activity({ type: 'message', text: '/start pro' }));
        expect(r.status).toBe(401);
        expect(r.body.error).toBe('unauthorized');
        const install = await c.post(
          c.activity({ type: 'conversationUpdate', membersAdded: [{ id: c.botId }] }),
        );
        expect(install.status).toBe(401);
      }
      expect(connector.calls).toHaveLength(0);
      expect(await count(t.db, 'conversations')).toBe(0);
      expect(await count(t.db, 'processed_events')).toBe(0);
      // botbuilder's console output was routed into the structured log, text withheld.
      expect(consoleError).not.toHaveBeenCalled();
      expect(consoleWarn).not.toHaveBeenCalled();
      expect(t.logs.text).toContain('botbuilder error (text withheld)');
      expect(t.logs.text).not.toContain('Unauthorized Access');
    } finally {
      consoleError.mockRestore();
      consoleWarn.mockRestore();
    }
  });
});

describe('Teams settings', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('is off in production without any Microsoft variable: /api/messages is 404, never processed', async () => {
    for (const name of ['MicrosoftAppId', 'MicrosoftAppPassword', 'MicrosoftAppType', 'MicrosoftAppTenantId'])
      delete process.env[name];
    const t = await buildTestApp({ config: testConfig({ nodeEnv: 'production', nodeEnvName: 'staging' }) });
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/messages',
        payload: {
          type: 'message',
          id: '1',
          channelId: 'msteams',
          serviceUrl: 'http://127.0.0.1:9/',
          from: { id: '29:x' },
          recipient: { id: '28:bot' },
          conversation: { id: 'a:1', conversationType: 'personal' },
          text: '/start',
        },
      });
      expect(res.statusCode).toBe(404);
      expect(t.app.intake.channels.teams).toBe('off');
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(health.json().channels).toEqual({ telegram: 'off', teams: 'off' });
      expect((await t.db.query('SELECT 1 FROM processed_events')).rows).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('refuses settings half set, whatever NODE_ENV, naming the variable to set', async () => {
    for (const nodeEnv of ['production', 'test'] as const) {
      expect(() => loadTeamsConfig({ MicrosoftAppPassword: 'secret-value-1' }, nodeEnv)).toThrow(
        'Teams: MicrosoftAppPassword is set but MicrosoftAppId is empty: set MicrosoftAppId too, or unset them to turn Teams off',
      );
      expect(() =>
        loadTeamsConfig({ MicrosoftAppTenantId: 't', MicrosoftAppType: 'SingleTenant' }, nodeEnv),
      ).toThrow(/MicrosoftAppTenantId, MicrosoftAppType are set but MicrosoftAppId is empty/);
    }
    delete process.env.MicrosoftAppId;
    process.env.MicrosoftAppPassword = 'secret-value-2';
    await expect(buildTestApp({ config: testConfig({ nodeEnv: 'production' }) })).rejects.toThrow(
      /^Teams: MicrosoftAppPassword is set but MicrosoftAppId is empty/,
    );
  });

  it('accepts unauthenticated activities only in development and test', () => {
    expect(loadTeamsConfig({}, 'development')?.appId).toBe('');
    expect(loadTeamsConfig({}, 'test')?.appId).toBe('');
    // loadConfig maps every other NODE_ENV value (staging, prod, a typo) to production.
    expect(loadTeamsConfig({}, 'production')).toBeUndefined();
  });

  it('warns at start when authentication is disabled (development)', async () => {
    delete process.env.MicrosoftAppId;
    const t = await buildTestApp();
    try {
      expect(t.logs.text).toContain('MicrosoftAppId is empty');
    } finally {
      await t.close();
    }
  });

  it('checks the settings', () => {
    expect(loadTeamsConfig({}, 'development')).toEqual({
      appId: '',
      appPassword: '',
      appType: 'SingleTenant',
      tenantId: '',
      noticeBatchSeconds: 300,
    });
    expect(loadTeamsConfig(APP_ENV, 'production')?.appType).toBe('SingleTenant');
    expect(
      loadTeamsConfig({ ...APP_ENV, TEAMS_NOTICE_BATCH_SECONDS: '0' }, 'production')?.noticeBatchSeconds,
    ).toBe(0);
    expect(() => loadTeamsConfig({ ...APP_ENV, MicrosoftAppTenantId: '' }, 'production')).toThrow(/TenantId/);
    expect(() => loadTeamsConfig({ ...APP_ENV, MicrosoftAppPassword: '' }, 'production')).toThrow(/Password/);
    expect(() => loadTeamsConfig({ ...APP_ENV, MicrosoftAppType: 'Other' }, 'production')).toThrow(/AppType/);
    expect(() => loadTeamsConfig({ TEAMS_NOTICE_BATCH_SECONDS: '-1' }, 'test')).toThrow(/BATCH/);
    expect(() => loadTeamsConfig({ TEAMS_NOTICE_BATCH_SECONDS: 'x' }, 'test')).toThrow(/BATCH/);
    // The refusal never echoes the password.
    try {
      loadTeamsConfig({ ...APP_ENV, MicrosoftAppTenantId: '' }, 'production');
    } catch (err) {
      expect((err as Error).message).not.toContain(APP_ENV.MicrosoftAppPassword);
    }
  });
});
