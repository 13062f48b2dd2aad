/**
 * One HIL job, start to end, as its stages: (a pool job: take a free target
 * of the pool), open the results, take the target, record the job, plan the
 * boot (its files and root file system pinned) while its PXE server begins
 * (its namespace and file server process), serve the plan (and the NFS root,
 * for one), open the console, wire the power, boot (power cycle and
 * milestones), run the suites,
 * hold the board if asked; then tear everything down in reverse order and
 * write the reports. Teardown always happens: on success, failure, exception
 * and interrupt. Each stage is a small function in stages/.
 */
import type { Target } from '../config/target.js';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { jobRootfsDir, jobWorkDir } from '../core/paths.js';
import { inUserNamespace } from '../core/user-namespace.js';
import { planProblems } from '../pxe/nfs-server.js';
import { NFS_ROOT_PATH } from './stages/rootfs.js';
import type { ImageDefinition } from '../images/image.js';
import { refuseSuitesWithoutBoardAddress } from './suite-runner.js';
import { followBootStates } from './boot-states.js';
import { classify, type JobContext, newJobContext, passed, type RunOptions, type RunResult } from './job-context.js';
import { bootTarget } from './stages/boot.js';
import { openConsole } from './stages/console.js';
import { takeFromPool, takeTarget } from './stages/lock.js';
import { planBoot } from './stages/plan-boot.js';
import { wirePower } from './stages/power.js';
import { serveRootfs } from './stages/nfs.js';
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
    for (const target of options.pool?.targets ?? [job.target])
      refuseWhatCannotRun(target, job.image, job.options.suiteFiles ?? []);
    await takeFromPool(job);
    reports = await openResults(job);
    await takeTarget(job);
    await recordJob(job);
    const early = beginPxeServer(job);
    const plan = await planBoot(job);
    const pxe = await startPxeServer(job, plan, early);
    await serveRootfs(job, plan, pxe);
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
  if (image.rootfs) refuseNfsRoot(target, image.rootfs.origin);
}

/**
 * What an NFS root cannot be served on: a proxyDHCP target (the export is for
 * the board's address, which the lab's DHCP server chooses), a run in its own
 * user namespace, and a cache path ganesha's configuration cannot hold.
 */
export function refuseNfsRoot(target: Target, origin: string, rootless = inUserNamespace()): void {
  const network = target.network;
  if (network.kind === 'lab' && network.mode === 'proxy')
    throw new UsageError(
      `${origin}: target ${target.name} is on a proxyDHCP lab network, where the lab's DHCP server chooses the board's address, and the job's NFS server exports the root to the board's address only; use a target with mode 'dhcp' and a boardAddress`,
    );
  if (rootless) refuseRootlessNfsRoot(origin);
  const problems = planProblems({
    netns: 'hil-00000000',
    serverIp: '10.42.0.1',
    clientIp: '10.42.0.10',
    exportPath: join(jobRootfsDir('00000000'), 'root'),
    pseudoPath: NFS_ROOT_PATH,
    stateDir: join(jobWorkDir('00000000'), 'nfs'),
  });
  if (problems.length > 0)
    throw new UsageError(`${origin}: ${problems[0]}; set PXE_HIL_CACHE to a plain path outside /run`);
}

/** A run in its own user namespace (an ordinary user's, harness/run/rootless.ts) cannot serve an NFS root. */
export function refuseRootlessNfsRoot(origin: string): never {
  throw new UsageError(
    `${origin}: an NFS root needs root: the job's NFS server (nfs-ganesha) opens files by handle (open_by_handle_at needs CAP_DAC_READ_SEARCH on the host), which a run in its own user namespace does not have; run as root`,
  );
}

/** The job's step events (for the timeline) and its board's boot states, followed from the start. */
function followJob(job: JobContext): { steps: () => void; bootStates: () => void } {
  const steps = job.bus.subscribe((event) => job.steps.push(event));
  const bootStates = followBootStates(job.bus, job.image.milestones);
  return { steps, bootStates: () => bootStates.stop() };
}
