/**
 * One HIL job, start to end, as its stages: (a pool job: take a free target
 * of the pool), open the results, take the target, record the job, plan the
 * boot (its files pinned), start its PXE server, open the console, wire the
 * power, boot (power cycle and milestones), run the suites,
 * hold the board if asked; then tear everything down in reverse order and
 * write the reports. Teardown always happens: on success, failure, exception
 * and interrupt. Each stage is a small function in stages/.
 */
import type { Target } from '../config/target.js';
import { UsageError } from '../core/errors.js';
import type { ImageDefinition } from '../images/image.js';
import { refuseSuitesWithoutBoardAddress } from './suite-runner.js';
import { followBootStates } from './boot-states.js';
import { classify, type JobContext, newJobContext, passed, type RunOptions, type RunResult } from './job-context.js';
import { bootTarget } from './stages/boot.js';
import { openConsole } from './stages/console.js';
import { takeFromPool, takeTarget } from './stages/lock.js';
import { planBoot } from './stages/plan-boot.js';
import { wirePower } from './stages/power.js';
import { followLease, recordJob, startPxeServer } from './stages/pxe.js';
import { openResults, type RunReports } from './stages/results.js';
import { holdTarget, testTarget } from './stages/suites.js';
import { tearDown } from './stages/teardown.js';

export type { RunOptions, RunResult };

export async function runJob(options: RunOptions): Promise<RunResult> {
  const job = newJobContext(options);
  const stopFollowing = followJob(job);
  let reports: RunReports | undefined;
  let result: RunResult;
  try {
    for (const target of options.pool?.targets ?? [job.target])
      refuseWhatCannotRun(target, job.image, job.options.suiteFiles ?? []);
    await takeFromPool(job);
    reports = await openResults(job);
    await takeTarget(job);
    await recordJob(job);
    const plan = await planBoot(job);
    const pxe = await startPxeServer(job, plan);
    const hub = await openConsole(job, pxe, plan.board);
    const power = await wirePower(job, pxe, plan.board);
    const leasedIp = followLease(job, plan.board.mac);
    await bootTarget(job, plan, pxe, hub, power);
    await testTarget(job, plan, pxe, leasedIp);
    await holdTarget(job);
    result = passed(job);
  } catch (error) {
    result = classify(error, job.results);
  }
  result = await tearDown(job, result);
  await reports?.write(result);
  stopFollowing.steps();
  job.bus.emit({ type: 'run-end', outcome: result.outcome, exitCode: result.exitCode, reason: result.reason });
  stopFollowing.bootStates();
  return result;
}

/** What a run cannot do on this target and image, refused before anything starts (the command line asks first). */
export function refuseWhatCannotRun(target: Target, image: ImageDefinition, suiteFiles: readonly string[]): void {
  if (suiteFiles.length > 0) {
    refuseSuitesWithoutBoardAddress(target, '--suite');
    if (!image.runsSsh)
      throw new UsageError(
        `--suite: image '${image.name}' runs no SSH server, and suites log in over SSH; use --image busybox, or an image file with an 'ssh' login`,
      );
  }
  const network = target.network;
  const waitsForSsh = image.milestones.some((m) => 'ssh' in m);
  if (waitsForSsh && network.kind === 'lab' && network.mode === 'proxy')
    throw new UsageError(
      `image '${image.name}' is ready when the board's SSH server answers, but a proxyDHCP job does not know the board's address; use a console line (--ready REGEX)`,
    );
}

/** The job's step events (for the timeline) and its board's boot states, followed from the start. */
function followJob(job: JobContext): { steps: () => void; bootStates: () => void } {
  const steps = job.bus.subscribe((event) => job.steps.push(event));
  const bootStates = followBootStates(job.bus, job.image.milestones);
  return { steps, bootStates: () => bootStates.stop() };
}
