import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-mariadb.ts'],
    testTimeout: 30000,
    hookTimeout: 120000,
    // Two cores: keep parallel files few so MariaDB and the tests do not starve each other.
    maxWorkers: 2,
    restoreMocks: true,
  },
});
