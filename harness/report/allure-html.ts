/**
 * The Allure HTML report from every run's allure-results under a results
 * directory, through allure-commandline (which needs Java).
 *
 * Tested against: allure-commandline 2.x with OpenJDK 17 (Debian 12).
 * Reference: Allure 2 command line, `allure generate <results...> -o <dir> --clean`.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Deadline } from '../core/deadline.js';
import { runBounded } from '../core/process.js';
import { LabFault, UsageError } from '../core/errors.js';

export async function findAllureResults(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const found: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory() && entry.name === 'allure-results') found.push(join(entry.parentPath, entry.name));
  }
  return found.sort();
}

export async function generateAllureReport(resultsRoot: string, outDir: string): Promise<{ inputs: string[] }> {
  const inputs = await findAllureResults(resultsRoot);
  if (inputs.length === 0)
    throw new UsageError(`no allure-results under ${resultsRoot}: run a job first (npm run hil -- --target ...)`);
  const java = await runBounded('java', ['-version'], { deadline: Deadline.in(30_000, 'java -version') });
  if (java.exitCode !== 0)
    throw new UsageError('the Allure report needs Java: apt-get install openjdk-17-jre-headless');
  const allure = join(
    dirname(createRequire(import.meta.url).resolve('allure-commandline/package.json')),
    'dist/bin/allure',
  );
  const result = await runBounded(allure, ['generate', ...inputs, '-o', outDir, '--clean'], {
    deadline: Deadline.in(600_000, 'allure generate'),
  });
  if (result.exitCode !== 0)
    throw new LabFault(
      `allure generate failed: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
  return { inputs };
}
