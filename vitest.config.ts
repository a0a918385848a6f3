import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core machines: files run in parallel, but not so many that real-peer tests starve.
    maxWorkers: 2,
    pool: 'forks',
  },
});
