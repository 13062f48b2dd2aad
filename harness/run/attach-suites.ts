/**
 * Suites against a target that is already up (`--no-boot`): another run of
 * the same target that was started with `--keep-up` holds it booted; this
 * finds that job by its record (core/job-record.ts), reaches its board over SSH through the
 * job's namespace, runs the suites and leaves the board as it was (no power
 * action, no lock: the holding job keeps both). How people iterate on
 * suites at their desk.
 */
import { mkdir } from 'node:fs/promises';
import type { Target } from '../config/target.js';
import { ExitCode, HilError, TargetFailure, UsageError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { type JobRecord, type JobWiring, liveJobs, wiringOf } from '../core/job-record.js';
import type { ImageSsh, JobSsh } from '../images/image.js';
import { withHostKey } from '../images/job-ssh.js';
import { loadImage } from '../images/load-image.js';
import { writeEventLog } from '../report/event-log.js';
import { resultPaths, runIdFor, runtimeRoot } from '../core/paths.js';
import { refuseSuitesWithoutBoardAddress, runSuites } from './suite-runner.js';

/** The running job of `target` that got as far as its wiring (its PXE server up), or undefined. */
export function findRunningJob(
  target: string,
  root = runtimeRoot(),
): { dir: string; record: JobRecord; wiring: JobWiring } | undefined {
  for (const { dir, record } of liveJobs({ target, root })) {
    const wiring = wiringOf(record);
    if (wiring) return { dir, record, wiring };
  }
  return undefined;
}

export async function runSuitesOnRunningJob(options: {
  target: Target;
  suiteFiles: string[];
  resultsRoot: string;
  runId?: string;
  bus: EventBus;
  signal: AbortSignal;
}): Promise<{ exitCode: number; reason?: string; resultsDir: string }> {
  const { bus, target } = options;
  refuseSuitesWithoutBoardAddress(target, '--no-boot');
  const running = findRunningJob(target.name);
  if (!running) {
    throw new UsageError(
      `--no-boot: no running job holds target '${target.name}'; start one with: npm run hil -- --target ${target.name} --image busybox --keep-up`,
    );
  }
  const { record, wiring } = running;
  if (!record.imageFile)
    throw new UsageError(
      `--no-boot: the running job of '${target.name}' boots the job's own files, with no SSH login to run suites through`,
    );
  const image = await loadImage(record.imageFile);
  const runId = options.runId ?? runIdFor(`${record.jobId}-suites-${process.pid}`);
  const artifacts = resultPaths(options.resultsRoot, target.name, runId);
  await mkdir(artifacts.dir, { recursive: true });
  const closeEventLog = writeEventLog(bus, artifacts.eventLog);
  try {
    bus.emit({
      type: 'run-start',
      runId,
      jobId: record.jobId,
      target: target.name,
      image: image.name,
      resultsDir: artifacts.dir,
    });
    bus.emit({
      type: 'stage',
      stage: 'suites',
      state: 'start',
      detail: `on the running job ${record.jobId} (harness pid ${record.pid}), no boot`,
    });
    const prepared = await image.prepare();
    const ssh = sshOfJob(prepared.ssh, record);
    const counts = await runSuites({
      bus,
      signal: options.signal,
      workDir: running.dir,
      netns: wiring.netns,
      boardIp: wiring.boardIp,
      target,
      prepared,
      ssh,
      job: { ...record, ...wiring, image: image.name },
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

/** The login of the holding job: the image's, with the host key that job put on its board. */
function sshOfJob(ssh: ImageSsh | undefined, record: JobRecord): JobSsh | undefined {
  if (!ssh) return undefined;
  if (!record.sshHostKey)
    throw new UsageError(
      `--no-boot: job ${record.jobId} recorded no SSH host key for its board; restart it with this version (npm run hil -- --target ${record.target} --keep-up)`,
    );
  return withHostKey(ssh, record.sshHostKey);
}
