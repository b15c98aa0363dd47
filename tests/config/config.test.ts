import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, nodeEnvOf, productionProblem } from '../../src/config/index.js';
import { CONFIG_DIR } from '../../src/paths.js';
import { resolveMasterKey } from '../../src/secrets.js';

const DEFAULT = readFileSync(join(CONFIG_DIR, 'default.yaml'), 'utf8');

/** A config folder with the shipped default (optionally edited) and an optional local.yaml. */
function configDir(defaultYaml = DEFAULT, localYaml?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'intake-config-'));
  writeFileSync(join(dir, 'default.yaml'), defaultYaml);
  if (localYaml !== undefined) writeFileSync(join(dir, 'local.yaml'), localYaml);
  return { dir, label: (f: string) => join(dir, f) };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('loads the shipped default: one inbox receiving both flows', () => {
    const c = loadConfig({ env: {} });
    expect(c.inboxes.map((i) => i.id)).toEqual(['coordination']);
    expect(c.routing.rules[0]).toEqual({ inbox: 'coordination', match: { kind: ['professional', 'youth'] } });
    expect(c.server.port).toBe(3000);
    expect(c.server.bodyLimitBytes).toBe(1048576);
    expect(c.files).toEqual(['config/default.yaml']);
  });

  it('lets local.yaml override and environment variables win', () => {
    const { dir, label } = configDir(DEFAULT, 'server:\n  port: 4000\nrateLimit:\n  max: 5\n');
    const c = loadConfig({ dir, env: {} });
    expect(c.server.port).toBe(4000);
    expect(c.server.host).toBe('0.0.0.0'); // merged, not replaced
    expect(c.rateLimit).toEqual({ max: 5, windowMs: 60000, readyzPerMinute: 60 });
    expect(c.files).toEqual([label('default.yaml'), label('local.yaml')]);
    expect(loadConfig({ dir, env: { PORT: '5000', HOST: '127.0.0.1' } }).server).toMatchObject({
      port: 5000,
      host: '127.0.0.1',
    });
  });

  it('names the file, the pointer and the problem for a wrong type in local.yaml', () => {
    const { dir, label } = configDir(DEFAULT, 'server:\n  port: "http"\n');
    expect(errorOf(() => loadConfig({ dir, env: {} }))).toBe(
      `${label('local.yaml')}: /server/port: must be integer`,
    );
  });

  it('names an unknown property', () => {
    const { dir, label } = configDir(DEFAULT, 'rateLimit:\n  maxx: 3\n');
    expect(errorOf(() => loadConfig({ dir, env: {} }))).toBe(
      `${label('local.yaml')}: /rateLimit: unknown property "maxx"`,
    );
  });

  it('attributes an error in default.yaml to default.yaml', () => {
    const { dir, label } = configDir(DEFAULT.replace('default: fr', 'default: de'));
    expect(errorOf(() => loadConfig({ dir, env: {} }))).toBe(
      `${label('default.yaml')}: /languages/default: must be one of "fr", "en"`,
    );
  });

  it('names a missing setting and an unresolved YAML alias', () => {
    const missing = configDir(DEFAULT.replace('  available: [fr, en]\n', ''));
    expect(errorOf(() => loadConfig({ dir: missing.dir, env: {} }))).toBe(
      `${missing.label('default.yaml')}: /languages: must have required property 'available'`,
    );
    const alias = configDir(DEFAULT, 'languages:\n  default: *nowhere\n');
    expect(errorOf(() => loadConfig({ dir: alias.dir, env: {} }))).toMatch(
      new RegExp(`^${alias.label('local.yaml').replace(/[.]/g, '\\.')}: (line \\d+: )?invalid YAML`),
    );
  });

  it('refuses a routing rule to an unknown inbox', () => {
    const { dir, label } = configDir(DEFAULT, 'routing:\n  rules:\n    - inbox: nowhere\n');
    expect(errorOf(() => loadConfig({ dir, env: {} }))).toBe(
      `${label('local.yaml')}: /routing/rules/0/inbox: unknown inbox "nowhere" (known: coordination)`,
    );
  });

  it('refuses duplicate inbox ids and an empty inbox list', () => {
    const dup = configDir(
      DEFAULT,
      'inboxes:\n  - {id: a, name: A}\n  - {id: a, name: B}\nrouting:\n  rules: [{inbox: a}]\n',
    );
    expect(errorOf(() => loadConfig({ dir: dup.dir, env: {} }))).toBe(
      `${dup.label('local.yaml')}: /inboxes/1/id: duplicate inbox "a"`,
    );
    const empty = configDir(DEFAULT, 'inboxes: []\n');
    expect(errorOf(() => loadConfig({ dir: empty.dir, env: {} }))).toBe(
      `${empty.label('local.yaml')}: /inboxes: must NOT have fewer than 1 items`,
    );
  });

  it('gives the line of a YAML syntax error', () => {
    const { dir, label } = configDir(DEFAULT, 'server:\n  port: 3000\n   host: [\n');
    expect(errorOf(() => loadConfig({ dir, env: {} }))).toBe(
      `${label('local.yaml')}: line 2: invalid YAML (BLOCK_AS_IMPLICIT_KEY)`,
    );
  });

  it('refuses a root that is not a mapping, and a missing default file', () => {
    const { dir, label } = configDir(DEFAULT, '- a\n- b\n');
    expect(errorOf(() => loadConfig({ dir, env: {} }))).toBe(
      `${label('local.yaml')}: /: must be a mapping of sections`,
    );
    const none = mkdtempSync(join(tmpdir(), 'intake-config-'));
    expect(errorOf(() => loadConfig({ dir: none, env: {} }))).toBe(
      `${join(none, 'default.yaml')}: file not found`,
    );
  });

  it('names a bad environment variable without echoing its value', () => {
    const msg = errorOf(() => loadConfig({ env: { PORT: 'abc-secret' } }));
    expect(msg).toBe('environment PORT: must be an integer between 0 and 65535');
    expect(errorOf(() => loadConfig({ env: { LOG_LEVEL: 'loud' } }))).toBe(
      'environment LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    );
  });

  it('refuses production without a master key or a database, in one line', () => {
    const none = loadConfig({ env: { NODE_ENV: 'production' } });
    expect(productionProblem(none)).toBe(
      'NODE_ENV=production needs INTAKE_MASTER_KEY (make one with `npx intake keygen`) and DATABASE_URL (a PostgreSQL connection string); refusing to start.',
    );
    const keyOnly = loadConfig({ env: { NODE_ENV: 'production', INTAKE_MASTER_KEY: 'x' } });
    expect(productionProblem(keyOnly)).toBe(
      'NODE_ENV=production needs DATABASE_URL (a PostgreSQL connection string); refusing to start.',
    );
    const ok = loadConfig({
      env: { NODE_ENV: 'production', INTAKE_MASTER_KEY: 'x', DATABASE_URL: 'postgres://h/db' },
    });
    expect(productionProblem(ok)).toBeUndefined();
    expect(productionProblem(loadConfig({ env: {} }))).toBeUndefined();
  });

  it('treats any NODE_ENV but development and test as production (fail closed), and says so', () => {
    expect(nodeEnvOf(undefined)).toBe('development');
    expect(nodeEnvOf('')).toBe('development');
    expect(nodeEnvOf('development')).toBe('development');
    expect(nodeEnvOf('test')).toBe('test');
    for (const value of ['production', 'staging', 'prod', 'Production', 'developement', ' dev ']) {
      expect(nodeEnvOf(value), value).toBe('production');
    }
    expect(productionProblem(loadConfig({ env: { NODE_ENV: 'staging' } }))).toBe(
      'NODE_ENV=staging (treated as production: only development and test relax these rules) needs INTAKE_MASTER_KEY (make one with `npx intake keygen`) and DATABASE_URL (a PostgreSQL connection string); refusing to start.',
    );
  });

  it('generates a development master key only in development and test', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'intake-key-'));
    for (const NODE_ENV of ['staging', 'prod', 'production']) {
      const config = loadConfig({ env: { NODE_ENV, INTAKE_DATA_DIR: dataDir } });
      expect(() => resolveMasterKey(config)).toThrow(
        `INTAKE_MASTER_KEY is required with NODE_ENV=${NODE_ENV}`,
      );
      expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    }
    const dev = resolveMasterKey(loadConfig({ env: { INTAKE_DATA_DIR: dataDir } }));
    expect(dev.generated).toBe(true);
    expect(existsSync(join(dataDir, 'master.key'))).toBe(true);
  });
});
