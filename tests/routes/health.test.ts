import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../../src/config/index.js';
import { warnUnclosedReports } from '../../src/intake/retention.js';
import { loggerOptions } from '../../src/logger.js';
import { buildTestApp, LogCapture, testConfig } from '../helper.js';

/** A production configuration the app accepts (Teams needs authenticated settings there). */
function production(overrides: Partial<AppConfig> = {}): AppConfig {
  vi.stubEnv('MicrosoftAppId', '11111111-2222-3333-4444-555555555555');
  vi.stubEnv('MicrosoftAppPassword', 'test-only-password');
  vi.stubEnv('MicrosoftAppTenantId', '66666666-7777-8888-9999-000000000000');
  return { ...testConfig(), nodeEnv: 'production', ...overrides };
}

describe('/metrics access (METRICS_TOKEN)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('does not exist in production without a token configured (404)', async () => {
    const t = await buildTestApp({ config: production() });
    try {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain('intake_');
      const bearer = await t.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: 'Bearer anything' },
      });
      expect(bearer.statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });

  it('needs the bearer token when one is configured: 401 without or with a wrong one, 200 with it', async () => {
    const token = 'test-only-metrics-token-0123456789';
    const t = await buildTestApp({ config: production({ metricsToken: token }) });
    try {
      const none = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toContain('Bearer');
      expect(none.body).not.toContain('intake_');
      for (const authorization of [`Bearer ${token}x`, `Basic ${token}`, token, 'Bearer ']) {
        const wrong = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization } });
        expect(wrong.statusCode, authorization).toBe(401);
      }
      const ok = await t.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('intake_http_request_duration_seconds');
      expect(t.logs.text).not.toContain(token);
    } finally {
      await t.close();
    }
  });

  it('stays open in development without a token (today’s behaviour), and closed when one is set', async () => {
    const open = await buildTestApp({ config: testConfig({ nodeEnv: 'development' }) });
    try {
      expect((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    } finally {
      await open.close();
    }
    const closed = await buildTestApp({ config: testConfig({ metricsToken: 'test-only-dev-token' }) });
    try {
      expect((await closed.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    } finally {
      await closed.close();
    }
  });
});

describe('/readyz rate limit', () => {
  it('limits readiness requests per client IP (it queries the database)', async () => {
    const config = testConfig();
    config.rateLimit = { ...config.rateLimit, readyzPerMinute: 3 };
    const t = await buildTestApp({ config });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        codes.push(
          (await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '10.0.0.1' })).statusCode,
        );
      }
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      // Another address has its own count.
      expect(
        (await t.app.inject({ method: 'GET', url: '/readyz', remoteAddress: '10.0.0.2' })).statusCode,
      ).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('has a sane default in config/default.yaml', () => {
    expect(testConfig().rateLimit.readyzPerMinute).toBe(60);
  });
});

describe('reports never closed', () => {
  it('raise a warning at the configured age in /readyz and in a log line without content', async () => {
    const config = testConfig();
    config.retention = { ...config.retention, unclosedWarningDays: 30 };
    const t = await buildTestApp({ config });
    try {
      const insert = (ref: string, receivedDaysAgo: number, closed: boolean) =>
        t.db.query(
          `INSERT INTO reports (id, reference, inbox_id, flow_kind, channel, urgency, status, envelope_version, nonce,
                                ciphertext, received_at, closed_at)
           VALUES ($1, $2, 'coordination', 'youth', 'cli', 'normal', $3, 1, 'n', 'c', now() - make_interval(days => $4),
                   CASE WHEN $5 THEN now() END)`,
          [randomUUID(), ref, closed ? 'clos' : 'evaluation', receivedDaysAgo, closed],
        );
      await insert('R-FRESH1', 5, false);
      await insert('R-DONE01', 60, true);
      const before = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(before.json().checks.unclosedReports).toBe('ok');

      await insert('R-STALE1', 31, false);
      const after = await t.app.inject({ method: 'GET', url: '/readyz' });
      // A warning: the service stays ready (in production too, unlike a missing coordinator key).
      expect(after.json().checks.unclosedReports).toBe(
        'warning: 1 report received more than 30 days ago still not closed',
      );
      expect(after.body).not.toContain('R-STALE1');

      const logs = new LogCapture();
      const n = await warnUnclosedReports(t.db, config, pino(loggerOptions('info'), logs));
      expect(n).toBe(1);
      expect(logs.lines).toHaveLength(1);
      const line = JSON.parse(logs.lines[0]!);
      expect(line).toMatchObject({ level: 40, unclosedReports: 1, days: 30 });
      expect(logs.text).not.toContain('R-STALE1');
    } finally {
      await t.close();
    }
  });

  it('default to 90 days in config/default.yaml', () => {
    expect(testConfig().retention.unclosedWarningDays).toBe(90);
  });
});
