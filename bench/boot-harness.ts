/**
 * A boot through pxe-hil itself, as a user starts it: `npm run hil -- --target
 * bench-<name> --image <image>` (bench/cli-job.ts): its milestone times and
 * set-up from its event log, its tear-down (the last milestone to its last
 * line), the time from the command's start to its PXE server ready, and the
 * peak memory of the harness process and its file server.
 *
 * The target is the given one under its own name (bench-<name>, in a targets
 * folder of the benchmark's), so that its lock is not the one a test run of
 * the same target on this host holds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '../harness/config/target.js';
import type { ImageDefinition } from '../harness/images/image.js';
import { type CliJob, pxeReady, runCliJob, runStart, sinceCommand, teardownMs, writeTargetFile } from './cli-job.js';
import { BENCH_ID, bootMarks, type MarkTimes } from './support.js';

export type HarnessBoot = MarkTimes & {
  jobId: string;
  /** Run start to the PXE server ready (end of the `pxe` stage). */
  setupMs: number;
  /** The last milestone to the end of the run (teardown done, reports written). */
  teardownMs: number;
  /** The command's start (npm) to the PXE server ready. */
  commandMs: number;
  memory: CliJob['memory'];
};

/** Where the benchmark's jobs run: the checkout, and a targets folder of the benchmark's own. */
export type BenchTargets = { repo: string; dir: string; remove(): Promise<void> };

/** This checkout of pxe-hil. */
export const REPO = new URL('../', import.meta.url).pathname;

/** A targets folder holding `targets` (each under its own name), for jobs of the checkout `repo`. */
export async function benchTargets(targets: readonly Target[], repo = REPO): Promise<BenchTargets> {
  const dir = await mkdtemp(join(tmpdir(), `hil-bench-${BENCH_ID}-targets-`));
  for (const target of targets) writeTargetFile(dir, target);
  return { repo, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function bootHarness(
  targets: BenchTargets,
  target: string,
  image: ImageDefinition,
  timeoutMs: number,
): Promise<HarnessBoot> {
  const resultsRoot = await mkdtemp(join(tmpdir(), `hil-bench-${BENCH_ID}-results-`));
  try {
    const job = await runCliJob({
      repo: targets.repo,
      target,
      targetsDir: targets.dir,
      image: image.name,
      resultsRoot,
      timeoutMs,
    });
    if (job.exitCode !== 0)
      throw new Error(`pxe-hil run of ${image.name} ended with exit ${job.exitCode}:\n${job.output.slice(-2000)}`);
    return bootOf(job, image);
  } finally {
    await rm(resultsRoot, { recursive: true, force: true });
  }
}

function bootOf(job: CliJob, image: ImageDefinition): HarnessBoot {
  if (job.memory.harnessMiB === 0 || job.memory.fileServerMiB === 0)
    throw new Error(`the harness or its file server was never seen: ${JSON.stringify(job.memory)}`);
  const start = runStart(job.events);
  const marks = bootMarks(image);
  const milestone = (name: string) => {
    const found = job.events.find((e) => e.type === 'milestone' && e.name === name);
    if (!found) throw new Error(`no '${name}' milestone in the run`);
    return found.t - start.t;
  };
  return {
    jobId: start.jobId,
    setupMs: pxeReady(job.events).t - start.t,
    initMs: milestone('init started'),
    readyMs: milestone(marks.readyName),
    teardownMs: teardownMs(job),
    commandMs: sinceCommand(job, pxeReady(job.events)),
    memory: job.memory,
  };
}
