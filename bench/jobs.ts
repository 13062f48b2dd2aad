/**
 * What a job costs around its boot, as users run jobs (bench/cli-job.ts):
 * the time from `npm run hil -- --target T --image busybox` to the job's PXE
 * server ready (the job is interrupted there, as by a Ctrl-C), and N busybox
 * jobs on N targets at once, as a lab host runs them for N boards: each
 * job's set-up, tear-down and peak memory (harness and file server).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '../harness/config/target.js';
import { Deadline } from '../harness/core/deadline.js';
import { runBounded } from '../harness/core/process.js';
import type { BenchTargets } from './boot-harness.js';
import { pxeReady, runCliJob, runStart, sinceCommand, teardownMs } from './cli-job.js';
import { type Figure, figure } from './figures.js';
import { BENCH_ID, interrupted } from './support.js';

const JOB_TIMEOUT_MS = 600_000;

export type StartTimes = {
  /** The command's start to the PXE server ready. */
  commandMs: number[];
  /** The command's start to the run's start: npm, the set-up check, Node and the command line loading. */
  runStartMs: number[];
  jobIds: string[];
};

export type ConcurrentJobs = {
  jobs: number;
  setupMs: number[];
  teardownMs: number[];
  /** Peak RSS of each job's harness plus its file server. */
  memoryMiB: number[];
  jobIds: string[];
};

/** Copies of `target` named bench-<name>-1..n with MACs of their own, for jobs at once. */
export function concurrentTargets(target: Target, count: number): Target[] {
  if (target.network.kind !== 'qemu-tap') throw new Error('jobs at once need a QEMU target');
  const network = target.network;
  return Array.from({ length: count }, (_, i) => ({
    ...target,
    name: `bench-${target.name}-${i + 1}`,
    network: { ...network, mac: `52:54:00:b0:0c:${(i + 1).toString(16).padStart(2, '0')}` },
  }));
}

/** Loads every target of the folder once (`hil targets`), so that no measured job compiles its target file. */
export async function warmTargets(targets: BenchTargets): Promise<void> {
  const listed = await runBounded('npm', ['run', '--silent', 'hil', '--', 'targets', '--targets-dir', targets.dir], {
    cwd: targets.repo,
    deadline: Deadline.in(120_000, 'hil targets'),
  });
  if (listed.exitCode !== 0) throw new Error(`hil targets failed: ${listed.stderr || listed.stdout}`);
}

async function inResultsRoot<T>(use: (root: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), `hil-bench-${BENCH_ID}-results-`));
  try {
    return await use(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** `runs` starts of a busybox job on `target`, one at a time, each interrupted once its PXE server is ready. */
export async function measureStarts(targets: BenchTargets, target: string, runs: number): Promise<StartTimes> {
  const times: StartTimes = { commandMs: [], runStartMs: [], jobIds: [] };
  for (let i = 0; i < runs; i++) {
    interrupted.signal.throwIfAborted();
    const job = await inResultsRoot((resultsRoot) =>
      runCliJob({
        repo: targets.repo,
        target,
        targetsDir: targets.dir,
        image: 'busybox',
        resultsRoot,
        stopAtPxeReady: true,
        timeoutMs: JOB_TIMEOUT_MS,
      }),
    );
    times.commandMs.push(sinceCommand(job, pxeReady(job.events)));
    times.runStartMs.push(sinceCommand(job, runStart(job.events)));
    times.jobIds.push(runStart(job.events).jobId);
  }
  return times;
}

/** A busybox job on each of `names` at once, each booted to its shell. */
export async function measureConcurrentJobs(targets: BenchTargets, names: readonly string[]): Promise<ConcurrentJobs> {
  const jobs = await inResultsRoot((resultsRoot) =>
    Promise.all(
      names.map((target) =>
        runCliJob({
          repo: targets.repo,
          target,
          targetsDir: targets.dir,
          image: 'busybox',
          resultsRoot,
          timeoutMs: JOB_TIMEOUT_MS,
        }),
      ),
    ),
  );
  const failed = jobs.find((job) => job.exitCode !== 0);
  if (failed) throw new Error(`a job of ${names.length} at once failed (exit ${failed.exitCode}):\n${failed.output}`);
  const unseen = jobs.find((job) => job.memory.harnessMiB === 0 || job.memory.fileServerMiB === 0);
  if (unseen) throw new Error(`a job's harness or file server was never seen: ${JSON.stringify(unseen.memory)}`);
  return {
    jobs: names.length,
    setupMs: jobs.map((job) => pxeReady(job.events).t - runStart(job.events).t),
    teardownMs: jobs.map(teardownMs),
    memoryMiB: jobs.map((job) => job.memory.harnessMiB + job.memory.fileServerMiB),
    jobIds: jobs.map((job) => runStart(job.events).jobId),
  };
}

const seconds = (values: number[]) => values.map((ms) => ms / 1000);

export function jobFigures(starts: StartTimes, together: ConcurrentJobs): Figure[] {
  const label = `${together.jobs} busybox jobs at once on ${together.jobs} targets`;
  return [
    figure({
      id: 'start',
      figure: 'command start (`npm run hil -- --target qemu-x86 --image busybox`) to PXE server ready',
      unit: 's',
      values: seconds(starts.commandMs),
      goal: { kind: 'value-at-most', limit: 0.6, text: '< 0.6 s' },
    }),
    figure({
      id: 'start.run',
      figure: 'command start to run start (npm, set-up check, Node loading the command line)',
      unit: 's',
      values: seconds(starts.runStartMs),
    }),
    figure({
      id: 'jobs.setup',
      figure: `${label}: set-up per job (run start to PXE server ready)`,
      unit: 's',
      values: seconds(together.setupMs),
    }),
    figure({
      id: 'jobs.teardown',
      figure: `${label}: tear-down per job`,
      unit: 's',
      values: seconds(together.teardownMs),
    }),
    figure({
      id: 'jobs.memory',
      figure: `${label}: peak RSS per job (harness + file server)`,
      unit: 'MiB',
      values: together.memoryMiB,
    }),
  ];
}
