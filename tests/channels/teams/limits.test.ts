/**
 * Rate limits of /api/messages: per hashed user and per instance, counted only once botbuilder has
 * authenticated the request, so a forged body cannot use up a real user's (or everyone's) budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, testConfig } from '../../helper.js';
import { FakeConnector, listen, newUser, TeamsClient } from './support.js';

const APP_ENV = {
  MicrosoftAppId: '6a1f9c7e-2b4d-4e8f-9a3c-5d7e1f2a4b6c',
  MicrosoftAppPassword: 'dangerous-test-only-password',
  MicrosoftAppType: 'SingleTenant',
  MicrosoftAppTenantId: '0f1e2d3c-4b5a-4968-8776-655443322110',
};

describe('Teams rate limits', () => {
  let connector: FakeConnector;
  beforeAll(async () => {
    connector = await new FakeConnector().start();
  });
  afterAll(async () => {
    await connector?.stop();
  });

  it('limits one user without slowing another (local mode, no authentication)', async () => {
    const config = testConfig();
    config.rateLimit = { max: 3, windowMs: 60_000 };
    const t: TestApp = await buildTestApp({ config });
    try {
      const base = await listen(t.app);
      const noisy = new TeamsClient(base, connector, newUser('N'));
      const calm = new TeamsClient(base, connector, newUser('C'));
      const codes: number[] = [];
      for (let i = 0; i < 5; i++)
        codes.push((await noisy.post(noisy.activity({ type: 'message', text: 'bonjour' }))).status);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      expect((await calm.post(calm.activity({ type: 'message', text: 'bonjour' }))).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it("does not count unauthenticated requests against a real user's budget", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, APP_ENV);
    const config = testConfig();
    config.rateLimit = { max: 3, windowMs: 60_000 };
    const t: TestApp = await buildTestApp({ config });
    try {
      const base = await listen(t.app);
      const victim = newUser('V');
      const forger = new TeamsClient(base, connector, victim, { authorization: 'Bearer forged.token.here' });
      const codes: number[] = [];
      for (let i = 0; i < 6; i++)
        codes.push((await forger.post(forger.activity({ type: 'message', text: 'x' }))).status);
      // Every forged request is refused for what it is (401), never counted as the victim's (429).
      expect(codes).toEqual([401, 401, 401, 401, 401, 401]);
    } finally {
      process.env = saved;
      await t.close();
    }
  });
});
