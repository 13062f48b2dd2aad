/**
 * The suites that run on a booted target (`hil --suite NAME`), apart from the
 * harness's own tests: the root vitest.config.ts includes only test/. The
 * harness names the suite files in PXE_HIL_SUITE_FILES (absolute paths, one a
 * line) and the job in PXE_HIL_JOB (the job.json path).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const files = process.env.PXE_HIL_SUITE_FILES?.split('\n').filter(Boolean);

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: files ?? ['suites/**/*.test.ts'],
    // One target: the suites take turns on it.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
