/**
 * The job rows of `npm run bench` alone (bench/jobs.ts): the command's start
 * to the PXE server ready, and busybox jobs at once, in this checkout or in
 * another one (--repo DIR, e.g. an older commit, to compare before and after
 * a change). Prints the rows and writes them as JSON (--out); rewrites no page.
 *
 * Run: npm run bench:jobs [-- --runs N] [-- --jobs N] [-- --repo DIR] [-- --out FILE]
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTarget } from '../harness/config/load-target.js';
import { benchTargets, REPO } from './boot-harness.js';
import { commandLine, loadNow, machineFacts } from './docs-table.js';
import { renderTable } from './figures.js';
import { concurrentTargets, jobFigures, measureConcurrentJobs, measureStarts, warmTargets } from './jobs.js';
import { interrupted } from './support.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    jobs: { type: 'string', default: '4' },
    repo: { type: 'string', default: REPO },
    out: { type: 'string', default: 'bench-jobs-results.json' },
  },
  strict: true,
});
const runs = Number(values.runs);
const count = Number(values.jobs);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(count) || count < 1)
  throw new Error(`--runs and --jobs must be whole numbers of at least 1, got '${values.runs}', '${values.jobs}'`);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => interrupted.abort(new Error(`interrupted by ${signal}`)));

const loadAtStart = loadNow();
const target = await loadTarget('qemu-x86');
const together = concurrentTargets(target, count);
const targets = await benchTargets([{ ...target, name: `bench-${target.name}` }, ...together], resolve(values.repo));
try {
  await warmTargets(targets);
  process.stderr.write(`bench: ${runs} start(s) in ${targets.repo}\n`);
  const starts = await measureStarts(targets, `bench-${target.name}`, runs);
  process.stderr.write(`bench: ${count} jobs at once\n`);
  const jobs = await measureConcurrentJobs(
    targets,
    together.map((t) => t.name),
  );
  const figures = jobFigures(starts, jobs);
  process.stdout.write(renderTable(figures, []));
  const result = {
    date: new Date().toISOString(),
    command: commandLine('bench:jobs'),
    repo: targets.repo,
    machine: machineFacts(),
    loadAverage: { start: loadAtStart, end: loadNow() },
    runs,
    figures,
    jobIds: jobs.jobIds,
  };
  await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`bench: wrote ${values.out}\n`);
} finally {
  await targets.remove();
}
