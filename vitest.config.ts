import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/__tests__/**/*.spec.ts', 'test/**/*.spec.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Tests that mount, unshare and spawn are I/O bound; two cores: keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
