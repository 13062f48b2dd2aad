/**
 * The boot itself: the power cycle, then the image's milestones in order
 * until the board has booted, a failure pattern, a time-out, a failed
 * bootloader command, or the board lost (QEMU dying) ends the wait.
 */
import type { ConsoleHub } from '../../console/console-hub.js';
import { UbootLoadReader } from '../../console/uboot-loads.js';
import { LabFault, TargetFailure } from '../../core/errors.js';
import { join } from 'node:path';
import type { PowerDriver } from '../../power/power.js';
import type { PxeServer } from '../../pxe/pxe-server.js';
import { startSshForwarder } from '../../ssh/forwarder.js';
import { waitForSshBanner } from '../../ssh/ssh-probe.js';
import { type BootFailure, type BootResult, watchBoot } from '../boot-watch.js';
import { type BootloaderDialogue, openBootloaderDialogue } from '../bootloader-dialogue.js';
import { answerIpxeBanner } from '../firmware-prompts.js';
import { type JobContext, stage } from '../job-context.js';
import { netbootStep, powerStep } from '../power-step.js';
import type { BootPlan } from './plan-boot.js';

export async function bootTarget(
  job: JobContext,
  plan: BootPlan,
  pxe: PxeServer,
  hub: ConsoleHub,
  power: PowerDriver,
): Promise<void> {
  const { bus, image } = job;
  // A lost board is a lab fault; a failed bootloader command, the target's failure: either ends the wait at once.
  const ended = new AbortController();
  const stopWatchingLoss = power.onLost?.((reason) => ended.abort(new LabFault(`the board was lost: ${reason}`)));
  if (stopWatchingLoss) job.teardown.add('stop watching for a lost board', stopWatchingLoss);
  const running = AbortSignal.any([job.signal, ended.signal]);
  const dialogue = plan.dialogue ? openBootloaderDialogue(hub, bus, plan.dialogue) : undefined;
  if (job.target.boot.uboot) readUbootLoads(job, hub);
  if (job.target.boot.ipxeBanner === 'skip')
    job.teardown.add("stop answering iPXE's banner", answerIpxeBanner(hub, bus));
  const boot = watchBoot({
    milestones: image.milestones,
    failurePatterns: plan.failurePatterns,
    console: hub,
    bus,
    timeoutScale: job.target.timeoutScale,
    signal: running,
    sshAnswers: (port, signal) => sshAnswers(job, pxe, plan.board.ip, port, signal),
  });
  // The watch is subscribed before the power cycle, so the first lease and byte count.
  await stage(job, 'power', 'power cycle', async () => {
    await netbootStep(bus, power);
    await powerStep(bus, power, 'cycle');
  });
  bus.emit({
    type: 'stage',
    stage: 'boot',
    state: 'start',
    detail: `waiting for ${image.milestones.length} milestones`,
  });
  const outcome = await besideDialogue(boot, dialogue, running, (error) => ended.abort(error));
  if (!outcome.passed) throw new TargetFailure(describeBootFailure(outcome.failure));
  bus.emit({ type: 'stage', stage: 'boot', state: 'end' });
}

/** Runs the bootloader dialogue (if any) while the boot is watched; a dialogue failure before the boot ends is reported. */
async function besideDialogue(
  boot: Promise<BootResult>,
  dialogue: BootloaderDialogue | undefined,
  running: AbortSignal,
  onFailure: (error: unknown) => void,
): Promise<BootResult> {
  if (!dialogue) return boot;
  const bootOver = new AbortController();
  const talking = dialogue.run(AbortSignal.any([running, bootOver.signal])).catch((error: unknown) => {
    if (!bootOver.signal.aborted) onFailure(error);
  });
  try {
    return await boot;
  } finally {
    bootOver.abort();
    await talking;
    dialogue.close();
  }
}

/** Waits for the board's SSH server to answer on `port`, through a forwarder into the job's namespace. */
async function sshAnswers(job: JobContext, pxe: PxeServer, boardIp: string, port: number, signal: AbortSignal) {
  const forwarder = await startSshForwarder({
    netns: pxe.netns,
    socketPath: join(job.workDir, `probe-${port}.sock`),
    host: boardIp,
    port,
    onLogLine: (line) => job.logLine('ssh-probe', line),
  });
  try {
    return await waitForSshBanner(forwarder.socketPath, signal);
  } finally {
    await forwarder.stop();
  }
}

/** U-Boot's own account of each file it loaded, as step events. */
function readUbootLoads(job: JobContext, hub: ConsoleHub): void {
  const loads = new UbootLoadReader();
  const stop = hub.subscribe((text) => {
    for (const load of loads.feed(text)) job.bus.emit({ type: 'bootloader-load', ...load });
  });
  job.teardown.add('stop reading U-Boot loads', stop);
}

export function describeBootFailure(failure: BootFailure): string {
  return failure.kind === 'pattern'
    ? `${failure.pattern.name}: ${failure.line}`
    : `milestone '${failure.milestone.name}' not reached within ${(failure.timeoutMs / 1000).toFixed(0)} s`;
}
