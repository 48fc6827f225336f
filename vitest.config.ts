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
    // The tests call the AWS modules in-process, as the CLI does; the CLI silences the SDK's
    // Node 20 notice for itself (src/cli/main.ts, docs/decisions.md), so the workers do too.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
