import { defineConfig } from 'vitest/config';

// The compat suite drives Floe with clients from Debian packages (kcat,
// confluent-kafka-python, kafka-python); .ci/run installs them first.
export default defineConfig({
  test: {
    include: ['test/compat/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
