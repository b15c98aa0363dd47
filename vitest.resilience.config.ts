import { defineConfig } from 'vitest/config';

// The resilience suite (`npm run test:resilience`): long tests with real processes and real PostgreSQL
// (REQUIRE_POSTGRES=1 and DATABASE_URL), one file at a time. One test restarts the machine's PostgreSQL
// cluster: run it alone, after the main suite.
export default defineConfig({
  test: {
    include: ['tests/resilience/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    env: { NODE_ENV: 'test' },
  },
});
