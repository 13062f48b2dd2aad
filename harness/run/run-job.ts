/**
 * One HIL job, start to end, as its stages: open the results, take the
 * target, record the job, plan the boot while its PXE server begins (its
 * namespace and file server process), serve the plan, open the
 * console, wire the power, boot (power cycle and milestones), run the suites,
 * hold the board if asked; then tear everything down in reverse order and
 * write the reports. Teardown always happens: on success, failure, exception
 * and interrupt. Each stage is a small function in stages/.
 */
import { refuseSuitesWithoutBoardAddress } from './suite-runner.js';
import { followBootStates } from './boot-states.js';
import { classify, type JobContext, newJobContext, passed, type RunOptions, type RunResult } from './job-context.js';
import { bootTarget } from './stages/boot.js';
import { openConsole } from './stages/console.js';
import { takeTarget } from './stages/lock.js';
import { planBoot } from './stages/plan-boot.js';
import { wirePower } from './stages/power.js';
import { beginPxeServer, followLease, recordJob, startPxeServer } from './stages/pxe.js';
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
    checkRequest(job);
    reports = await openResults(job);
    await takeTarget(job);
    await recordJob(job);
    const early = beginPxeServer(job);
    const plan = await planBoot(job);
    const pxe = await startPxeServer(job, plan, early);
    const hub = await openConsole(job, pxe, plan.board);
    const power = await wirePower(job, pxe, plan.board);
    const leasedIp = followLease(job, plan.board.mac);
    await bootTarget(job, plan, hub, power);
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

/** What can be refused before anything starts. */
function checkRequest(job: JobContext): void {
  if ((job.options.suiteFiles ?? []).length > 0) refuseSuitesWithoutBoardAddress(job.target, '--suite');
}

/** The job's step events (for the timeline) and its board's boot states, followed from the start. */
function followJob(job: JobContext): { steps: () => void; bootStates: () => void } {
  const steps = job.bus.subscribe((event) => job.steps.push(event));
  const bootStates = followBootStates(job.bus, job.image.milestones);
  return { steps, bootStates: () => bootStates.stop() };
}
