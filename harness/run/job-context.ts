/**
 * One job's state as its stages pass it along (run-job.ts): what it was asked
 * (target, image, options), who it is (job id, run id), where its results go,
 * what to undo at the end, and how it ended.
 */
import type { TargetPool } from '../config/pools.js';
import type { Target } from '../config/target.js';
import { ExitCode, HilError, LabFault, TargetFailure, UsageError } from '../core/errors.js';
import type { EventBus, Stage, StepEvent } from '../core/events.js';
import { type ResultPaths, jobWorkDir, newJobId, runIdFor } from '../core/paths.js';
import { Teardown } from '../core/teardown.js';
import type { ImageDefinition } from '../images/image.js';
import { Interrupted } from './interrupt.js';

/** What the job runs on: the target named (--target), or the first free target of a pool (--pool). */
export type RunOn = { target: Target; pool?: undefined } | { pool: TargetPool; target?: undefined };

export type RunOptions = RunOn & {
  image: ImageDefinition;
  resultsRoot: string;
  runId?: string;
  lockTimeoutS: number;
  bus: EventBus;
  signal: AbortSignal;
  /** Suite files to run on the target once it has booted (see harness/run/suite-runner.ts). */
  suiteFiles?: string[];
  /** After the boot (and suites), keep the target up until the run is interrupted, for `--no-boot` suite runs. */
  keepUp?: boolean;
  /** Keep the job's copy of the board's root file system in the results (`rootfs/`) instead of removing it. */
  keepRootfs?: boolean;
};

export type RunOutcome = 'passed' | 'failed' | 'lab-fault' | 'bad-usage' | 'interrupted';

export type RunResult = { exitCode: number; outcome: RunOutcome; reason?: string; results?: ResultPaths };

export type JobContext = {
  readonly options: RunOptions;
  readonly bus: EventBus;
  readonly signal: AbortSignal;
  /** The target the job runs on: the one named, or (--pool) the one its lock stage took; read it after that stage. */
  readonly target: Target;
  /** The job took `target` from its pool (the lock stage). */
  took(target: Target): void;
  readonly image: ImageDefinition;
  readonly jobId: string;
  readonly runId: string;
  /** The job's sockets, pid files and record on this host; removed at its end. */
  readonly workDir: string;
  readonly teardown: Teardown;
  /** Every step event of the run, for the timeline. */
  readonly steps: StepEvent[];
  /** Where the run's results go; set once the results directory exists. */
  results?: ResultPaths;
  /** A line for the PXE log (pxe.log in the results); set once it is open. */
  logLine: (source: string, line: string) => void;
  /** The SSH host key ("type base64") the job made for its board, once the boot is planned. */
  sshHostKey?: string;
};

export function newJobContext(options: RunOptions): JobContext {
  const jobId = newJobId();
  let target = options.target;
  return {
    options,
    bus: options.bus,
    signal: options.signal,
    get target(): Target {
      if (!target)
        throw new Error(`the job has no target before its lock stage takes one of pool '${options.pool?.name}'`);
      return target;
    },
    took(taken: Target) {
      target = taken;
    },
    image: options.image,
    jobId,
    runId: options.runId ?? runIdFor(jobId),
    workDir: jobWorkDir(jobId),
    teardown: new Teardown(),
    steps: [],
    logLine: () => {},
  };
}

/** Runs one stage of the job between its `stage` start and end events; an interrupt stops it before it starts. */
export async function stage<T>(
  job: JobContext,
  name: Stage,
  detail: string,
  work: () => Promise<T>,
  done?: (value: T) => string,
): Promise<T> {
  job.signal.throwIfAborted();
  job.bus.emit({ type: 'stage', stage: name, state: 'start', detail });
  const value = await work();
  job.bus.emit({ type: 'stage', stage: name, state: 'end', detail: done?.(value) });
  return value;
}

/** How an error ends the run: its exit code and outcome. */
export function classify(error: unknown, results: ResultPaths | undefined): RunResult {
  if (error instanceof Interrupted)
    return { exitCode: error.exitCode, outcome: 'interrupted', reason: error.message, results };
  if (error instanceof HilError) {
    const outcome = error instanceof UsageError ? 'bad-usage' : error instanceof TargetFailure ? 'failed' : 'lab-fault';
    return { exitCode: error.exitCode, outcome, reason: error.message, results };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    exitCode: new LabFault(message).exitCode,
    outcome: 'lab-fault',
    reason: `unexpected error: ${message}`,
    results,
  };
}

export function passed(job: JobContext): RunResult {
  return { exitCode: ExitCode.passed, outcome: 'passed', results: job.results };
}
