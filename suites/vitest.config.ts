/**
 * The suites that run on a booted target (`hil --suite NAME`), apart from the
 * harness's own tests: the root vitest.config.ts includes only test/. The
 * harness names the suite files in PXE_HIL_SUITE_FILES (absolute paths, one a
 * line), the job in PXE_HIL_SUITE_CONTEXT (harness/run/suite-context.ts), and where the reports go:
 * PXE_HIL_SUITE_JUNIT (vitest's JUnit XML) and PXE_HIL_ALLURE_RESULTS (the
 * run's allure-results, beside the boot's own result).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { readSuiteContext, SUITE_CONTEXT_ENV } from '../harness/run/suite-context.js';

const env = process.env;
const files = env.PXE_HIL_SUITE_FILES?.split('\n').filter(Boolean);
const job = env[SUITE_CONTEXT_ENV] ? readSuiteContext(env) : undefined;

type Reporter = string | [string, Record<string, unknown>];
const reporters: Reporter[] = ['default'];
if (env.PXE_HIL_SUITE_JUNIT) reporters.push('junit');
if (env.PXE_HIL_ALLURE_RESULTS) {
  reporters.push([
    'allure-vitest/reporter',
    {
      resultsDir: env.PXE_HIL_ALLURE_RESULTS,
      globalLabels: [
        { name: 'parentSuite', value: 'pxe-hil' },
        ...(job
          ? [
              { name: 'target', value: job.target },
              { name: 'run', value: job.runId },
            ]
          : []),
        ...(job?.image ? [{ name: 'image', value: job.image }] : []),
        ...(env.BUILD_TAG ? [{ name: 'build', value: env.BUILD_TAG }] : []),
      ],
    },
  ]);
}

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: files ?? ['suites/**/*.test.ts'],
    // One target: the suites take turns on it.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters,
    ...(env.PXE_HIL_SUITE_JUNIT ? { outputFile: { junit: env.PXE_HIL_SUITE_JUNIT } } : {}),
    setupFiles: env.PXE_HIL_ALLURE_RESULTS ? ['allure-vitest/setup'] : [],
  },
});
