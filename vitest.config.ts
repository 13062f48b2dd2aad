import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The command line the tests start is the build's (test/support/build.ts compiles it when a source changed).
    globalSetup: ['test/support/build.ts'],
    // Boot tests each run a QEMU board; on a 2-core machine they run one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
