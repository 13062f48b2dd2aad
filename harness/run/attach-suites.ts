/**
 * Suites against a target that is already up (`--no-boot`): another run of
 * the same target that was started with `--keep-up` holds it booted; this
 * finds that job by its job.json, reaches its board over SSH through the
 * job's namespace, runs the suites and leaves the board as it was (no power
 * action, no lock: the holding job keeps both). How people iterate on
 * suites at their desk.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Target } from '../config/target.js';
import { ExitCode, HilError, TargetFailure, UsageError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { ImageDefinition } from '../images/image.js';
import { writeEventLog } from '../report/event-log.js';
import { artifactPaths, runIdFor, runtimeRoot } from './job-paths.js';
import { refuseSuitesWithoutBoardAddress, runSuites, type JobFile } from './suite-runner.js';

export type RunningJob = { workDir: string; job: JobFile & { pid: number; image?: string } };

/** The running job of `target` (its harness alive), or undefined. */
export async function findRunningJob(target: string, root = runtimeRoot()): Promise<RunningJob | undefined> {
  if (!existsSync(root)) return undefined;
  for (const entry of await readdir(root)) {
    const file = join(root, entry, 'job.json');
    if (!existsSync(file)) continue;
    try {
      const job = JSON.parse(await readFile(file, 'utf8')) as RunningJob['job'];
      if (job.target !== target || !job.netns || !alive(job.pid)) continue;
      return { workDir: join(root, entry), job };
    } catch {
      // a job.json being written: not a job to attach to yet
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function runSuitesOnRunningJob(options: {
  target: Target;
  images: Readonly<Record<string, ImageDefinition>>;
  suiteFiles: string[];
  resultsRoot: string;
  runId?: string;
  bus: EventBus;
  signal: AbortSignal;
}): Promise<{ exitCode: number; reason?: string; resultsDir: string }> {
  const { bus, target } = options;
  refuseSuitesWithoutBoardAddress(target, '--no-boot');
  const running = await findRunningJob(target.name);
  if (!running) {
    throw new UsageError(
      `--no-boot: no running job holds target '${target.name}'; start one with: npm run hil -- --target ${target.name} --image busybox --keep-up`,
    );
  }
  const image = options.images[running.job.image ?? ''];
  if (!image)
    throw new UsageError(
      `--no-boot: the running job of '${target.name}' booted an unknown image '${running.job.image}'`,
    );
  const runId = options.runId ?? runIdFor(`${running.job.jobId}-suites-${process.pid}`);
  const artifacts = artifactPaths(options.resultsRoot, target.name, runId);
  await mkdir(artifacts.dir, { recursive: true });
  const closeEventLog = writeEventLog(bus, artifacts.eventLog);
  try {
    bus.emit({
      type: 'run-start',
      runId,
      jobId: running.job.jobId,
      target: target.name,
      image: image.name,
      resultsDir: artifacts.dir,
    });
    bus.emit({
      type: 'stage',
      stage: 'suites',
      state: 'start',
      detail: `on the running job ${running.job.jobId} (harness pid ${running.job.pid}), no boot`,
    });
    const prepared = await image.prepare();
    const counts = await runSuites({
      bus,
      signal: options.signal,
      workDir: running.workDir,
      netns: running.job.netns,
      boardIp: running.job.boardIp,
      target,
      prepared,
      imageName: image.name,
      suiteFiles: options.suiteFiles,
      resultsDir: artifacts.dir,
      sshSocketName: `ssh-${process.pid}.sock`,
    });
    const passed = counts.reduce((n, c) => n + c.passed, 0);
    bus.emit({ type: 'stage', stage: 'suites', state: 'end', detail: `${passed} tests passed` });
    bus.emit({ type: 'run-end', outcome: 'passed', exitCode: ExitCode.passed });
    return { exitCode: ExitCode.passed, resultsDir: artifacts.dir };
  } catch (error) {
    const exitCode = error instanceof HilError ? error.exitCode : ExitCode.labFault;
    const reason = error instanceof Error ? error.message : String(error);
    bus.emit({
      type: 'run-end',
      outcome: error instanceof TargetFailure ? 'failed' : exitCode === ExitCode.badUsage ? 'bad-usage' : 'lab-fault',
      exitCode,
      reason,
    });
    return { exitCode, reason, resultsDir: artifacts.dir };
  } finally {
    closeEventLog();
  }
}
