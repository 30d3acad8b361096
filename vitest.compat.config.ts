import { defineConfig } from 'vitest/config';

// The compat suite drives Floe with clients from Debian packages (kcat,
// confluent-kafka-python, kafka-python); .ci/run installs them first.
export default defineConfig({
  test: {
    include: ['test/compat/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    // The AWS SDK's one-time notice that Node 20 support ends in 2027; known, and noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['test/helpers/report-spawned.ts'],
    fileParallelism: false,
  },
});
