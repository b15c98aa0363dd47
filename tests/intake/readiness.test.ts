import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import { buildTestApp, testConfig } from '../helper.js';

describe('readiness: a report is never sealed to nobody', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is not ready in production while an inbox has no coordinator key, and ready once it has one', async () => {
    const config = { ...testConfig(), nodeEnv: 'production' as const };
    // Production also requires authenticated Teams settings (see tests/channels/teams).
    vi.stubEnv('MicrosoftAppId', '11111111-2222-3333-4444-555555555555');
    vi.stubEnv('MicrosoftAppPassword', 'test-only-password');
    vi.stubEnv('MicrosoftAppTenantId', '66666666-7777-8888-9999-000000000000');
    const t = await buildTestApp({ config });
    try {
      const before = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(before.statusCode).toBe(503);
      expect(before.json().reason).toBe(
        'inboxes: inbox coordination has no coordinator key (run `intake coordinator add --inbox coordination`)',
      );
      await createCoordinator(
        t.db,
        t.keyring,
        {
          name: 'Camille',
          login: 'camille',
          inbox: 'coordination',
          passphrase: 'correct horse battery staple',
        },
        ['coordination'],
      );
      const after = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(after.statusCode).toBe(200);
      expect(after.json().checks.inboxes).toBe('ok');
    } finally {
      await t.close();
    }
  });
});
