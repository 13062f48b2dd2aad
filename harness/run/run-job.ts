/**
 * One HIL job, start to end: load the target, lock it, prepare the boot
 * files, start the job's PXE server, open the console, power-cycle the board,
 * follow the boot's milestones, then tear everything down in reverse order
 * and write the reports. Teardown always happens: on success, failure,
 * exception and interrupt.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { images } from '../../fixtures/images/index.js';
import { loadTarget } from '../config/load-target.js';
import type { Target } from '../config/target.js';
import { ConsoleHub } from '../console/console-hub.js';
import { shareConsole } from '../console/console-share.js';
import { createConsole } from '../console/create-console.js';
import { UbootLoadReader } from '../console/uboot-loads.js';
import { ExitCode, HilError, LabFault, TargetFailure, UsageError } from '../core/errors.js';
import type { EventBus, Stage, StepEvent } from '../core/events.js';
import { Teardown } from '../core/teardown.js';
import type { ImageDefinition } from '../images/image.js';
import { biosPxeLoaders, ipxeChainLoaders, uefiGrubLoader } from '../images/pxe-loaders.js';
import { createPowerDriver } from '../power/create-driver.js';
import { PxeServer } from '../pxe/pxe-server.js';
import { planJobNetwork } from '../pxe/netns.js';
import { BootRecorder } from '../report/boot-record.js';
import { writeEventLog } from '../report/event-log.js';
import { writeAllureResults } from '../report/allure.js';
import { renderJunit } from '../report/junit.js';
import { renderTimeline } from '../report/timeline.js';
import { watchBoot } from './boot-watch.js';
import { followBootStates } from './boot-states.js';
import { openBootloaderDialogue } from './bootloader-dialogue.js';
import { prepareUbootBoot } from './uboot-boot.js';
import { Interrupted } from './interrupt.js';
import { artifactPaths, jobWorkDir, newJobId, runIdFor, type Artifacts } from './job-paths.js';
import { servePowerControl } from './power-control.js';
import { netbootStep, powerStep } from './power-step.js';
import { refuseSuitesWithoutBoardAddress, runSuites } from './suite-runner.js';
import { lockTarget } from './target-lock.js';
import { describeRecovery, recoverStaleJobs } from './recovery.js';

export type RunOptions = {
  target: Target;
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
};

export type RunResult = {
  exitCode: number;
  outcome: 'passed' | 'failed' | 'lab-fault' | 'bad-usage' | 'interrupted';
  reason?: string;
  artifacts?: Artifacts;
};

/** The board's fixed address in the job's private network. */
const BOARD_IP = '10.42.0.10';

export function resolveImage(name: string): ImageDefinition {
  const image = images[name];
  if (!image) throw new UsageError(`unknown image '${name}'. Known images: ${Object.keys(images).join(', ')}`);
  return image;
}

/** Loads and checks everything a run needs from its input; throws a UsageError before anything starts. */
export async function loadRunConfig(
  targetName: string,
  imageName?: string,
  targetsDir?: string,
): Promise<{ target: Target; image: ImageDefinition }> {
  const target = await loadTarget(targetName, targetsDir);
  return { target, image: resolveImage(imageName ?? target.image) };
}

export async function runJob(options: RunOptions): Promise<RunResult> {
  const { bus, signal } = options;
  const teardown = new Teardown();
  const jobId = newJobId();
  let artifacts: Artifacts | undefined;
  let recorder: BootRecorder | undefined;
  const { target, image } = options;
  const runId = options.runId ?? runIdFor(jobId);
  let result: RunResult;
  const steps: StepEvent[] = [];
  const stopCollecting = bus.subscribe((event) => steps.push(event));
  const bootStates = followBootStates(bus, image.milestones);

  const stage = async <T>(
    name: Stage,
    detail: string,
    work: () => Promise<T>,
    done?: (value: T) => string,
  ): Promise<T> => {
    signal.throwIfAborted();
    bus.emit({ type: 'stage', stage: name, state: 'start', detail });
    const value = await work();
    bus.emit({ type: 'stage', stage: name, state: 'end', detail: done?.(value) });
    return value;
  };

  try {
    if ((options.suiteFiles ?? []).length > 0) refuseSuitesWithoutBoardAddress(target, '--suite');
    artifacts = artifactPaths(options.resultsRoot, target.name, runId);
    await mkdir(artifacts.dir, { recursive: true });
    const closeEventLog = writeEventLog(bus, artifacts.eventLog);
    teardown.add('close the event log', closeEventLog);
    bus.emit({ type: 'run-start', runId, jobId, target: target.name, image: image.name, resultsDir: artifacts.dir });
    recorder = new BootRecorder(bus);

    const { name: targetName } = target;
    const lock = await stage('lock', `locking target ${targetName}`, () =>
      lockTarget(targetName, options.lockTimeoutS, (holder) =>
        bus.emit({
          type: 'warning',
          message: `target ${targetName} is locked by ${holder}; waiting up to ${options.lockTimeoutS} s`,
        }),
      ),
    );
    teardown.add('release the target lock', () => lock.release());
    for (const recovered of await recoverStaleJobs({ target: targetName }))
      bus.emit({ type: 'warning', message: describeRecovery(recovered) });

    const bootImage = image;
    const [prepared, loaders] = await stage(
      'images',
      `preparing image ${bootImage.name}`,
      () => Promise.all([bootImage.prepare(), pxeLoaders(target.boot.loader)]),
      ([files]) => `image ${bootImage.name}: ${files.provenance}`,
    );

    const workDir = jobWorkDir(jobId);
    await mkdir(workDir, { recursive: true });
    teardown.add('remove the job directory', () => rm(workDir, { recursive: true, force: true }));
    const jobState = {
      jobId,
      target: target.name,
      image: image.name,
      pid: process.pid,
      runId,
      build: process.env.BUILD_TAG,
    };
    await writeFile(join(workDir, 'job.json'), `${JSON.stringify(jobState)}\n`);

    const pxeLogFd = openSync(artifacts.pxeLog, 'a');
    teardown.add('close the PXE log', () => closeSync(pxeLogFd));
    const network = target.network;
    // On a lab network the board's address is the target's (dhcp mode) or the lab DHCP server's choice (proxy mode, known from no lease).
    const board = {
      mac: network.mac,
      ip: network.kind === 'lab' ? (network.boardAddress ?? '') : BOARD_IP,
      hostname: target.name,
    };
    const cmdline = [bootImage.cmdline, `console=${target.console.kernelConsole}`, target.kernelArgs]
      .filter(Boolean)
      .join(' ');
    const baseEntry = {
      label: `${bootImage.name} on ${targetName}`,
      kernel: bootImage.servedNames.kernel,
      initrd: prepared.initrd ? bootImage.servedNames.initrd : undefined,
      cmdline,
    };
    const uboot = await prepareUbootBoot({
      target,
      entry: baseEntry,
      prepared,
      imageName: bootImage.name,
      imageFailurePatterns: bootImage.failurePatterns,
      serverIp: planJobNetwork(jobId).serverIp,
      boardIp: board.ip,
    });
    const pxe = await stage(
      'pxe',
      "starting the job's PXE server",
      () =>
        PxeServer.start({
          jobId,
          workDir,
          bus,
          board,
          boot: uboot.entry,
          files: [
            { name: bootImage.servedNames.kernel, role: 'kernel', path: prepared.kernel },
            ...(prepared.initrd && bootImage.servedNames.initrd
              ? [{ name: bootImage.servedNames.initrd, role: 'initrd' as const, path: prepared.initrd }]
              : []),
            ...loaders,
            ...uboot.files,
          ],
          loader: target.boot.loader,
          lab: network.kind === 'lab' ? network : undefined,
          onLogLine: (source, line) => writeSync(pxeLogFd, `${(bus.now() / 1000).toFixed(3)} ${source}: ${line}\n`),
        }),
      (server) =>
        `ready: namespace ${server.netns}, ${network.kind === 'lab' ? `${network.mode === 'proxy' ? 'proxyDHCP' : 'DHCP'} on ${network.interface}` : 'DHCP'} for ${board.mac}, TFTP and ${server.baseUrl}`,
    );
    teardown.add('stop the PXE server', () => pxe.stop());

    const consoleSocket = join(workDir, 'console.sock');
    const consoleSource = createConsole(target.console, { consoleSocket });
    const consoleShare = join(workDir, 'console-share.sock');
    // The job's wiring, for tools that attach to a running job (and for finding what a crashed job left).
    await writeFile(
      join(workDir, 'job.json'),
      `${JSON.stringify({
        ...jobState,
        netns: pxe.netns,
        tap: pxe.tap,
        mac: board.mac,
        boardIp: board.ip,
        serverIp: pxe.network.serverIp,
        consoleSocket,
        consoleEndpoint: consoleSource.endpoint,
        consoleShare,
        powerControl: join(workDir, 'power.sock'),
      })}\n`,
    );
    const hub = new ConsoleHub(consoleSource, bus);
    const paths = artifacts;
    await stage('console', `opening console ${consoleSource.endpoint}`, () =>
      hub.open({ raw: paths.consoleRaw, text: paths.consoleLog }),
    );
    teardown.add('close the console', () => hub.close());
    const share = await shareConsole(hub, consoleShare);
    teardown.add('stop sharing the console', () => share.close());

    const power = createPowerDriver(
      target,
      { name: `hil-${targetName}-${jobId}`, workDir, consoleSocket, netns: pxe.netns, tap: pxe.tap, mac: board.mac },
      bus,
    );
    if (target.powerOffAtEnd) teardown.add('power the target off', () => powerStep(bus, power, 'off'));
    // Suites reach the power through the job (target.power in fixtures/target.ts).
    const powerControl = await servePowerControl(bus, power, join(workDir, 'power.sock'));
    teardown.add('stop serving power control', () => powerControl.close());
    let leasedIp: string | undefined;
    teardown.add(
      'stop following leases',
      bus.subscribe((event) => void (event.type === 'lease' && event.mac === board.mac && (leasedIp = event.ip))),
    );

    // A board whose power vanishes unasked (QEMU dying) ends the boot wait at once, as a lab fault.
    const lost = new AbortController();
    const stopWatchingLoss = power.onLost?.((reason) => lost.abort(new LabFault(`the board was lost: ${reason}`)));
    if (stopWatchingLoss) teardown.add('stop watching for a lost board', stopWatchingLoss);
    // A failed bootloader command ends the boot wait at once, as the target's failure.
    const bootloaderFailed = new AbortController();
    const running = AbortSignal.any([signal, lost.signal, bootloaderFailed.signal]);
    const dialogue = uboot.dialogue ? openBootloaderDialogue(hub, bus, uboot.dialogue) : undefined;
    if (target.boot.uboot) {
      const loads = new UbootLoadReader();
      teardown.add(
        'stop reading U-Boot loads',
        hub.subscribe((text) => loads.feed(text).forEach((load) => bus.emit({ type: 'bootloader-load', ...load }))),
      );
    }
    const boot = watchBoot({
      milestones: bootImage.milestones,
      failurePatterns: uboot.failurePatterns,
      console: hub,
      bus,
      timeoutScale: target.timeoutScale,
      signal: running,
    });
    // The watch is subscribed before the power cycle, so the first lease and byte count.
    await stage('power', 'power cycle', async () => {
      await netbootStep(bus, power);
      await powerStep(bus, power, 'cycle');
    });
    bus.emit({
      type: 'stage',
      stage: 'boot',
      state: 'start',
      detail: `waiting for ${bootImage.milestones.length} milestones`,
    });
    const dialogueDone = new AbortController();
    const dialogueRun = dialogue?.run(AbortSignal.any([running, dialogueDone.signal])).catch((error: unknown) => {
      if (!dialogueDone.signal.aborted) bootloaderFailed.abort(error);
    });
    const outcome = await boot.finally(async () => {
      dialogueDone.abort();
      await dialogueRun;
      dialogue?.close();
    });
    if (!outcome.passed) {
      const failure = outcome.failure;
      throw new TargetFailure(
        failure.kind === 'pattern'
          ? `${failure.pattern.name}: ${failure.line}`
          : `milestone '${failure.milestone.name}' not reached within ${(failure.timeoutMs / 1000).toFixed(0)} s`,
      );
    }
    bus.emit({ type: 'stage', stage: 'boot', state: 'end' });
    const suiteFiles = options.suiteFiles ?? [];
    if (suiteFiles.length > 0) {
      await stage(
        'suites',
        `running ${suiteFiles.length} suite${suiteFiles.length > 1 ? 's' : ''} over SSH`,
        () =>
          runSuites({
            bus,
            signal,
            workDir,
            netns: pxe.netns,
            boardIp: leasedIp ?? board.ip,
            target,
            prepared,
            imageName: bootImage.name,
            suiteFiles,
            resultsDir: paths.dir,
            onLogLine: (line) => writeSync(pxeLogFd, `${(bus.now() / 1000).toFixed(3)} ssh-forwarder: ${line}\n`),
          }),
        (counts) => `${counts.reduce((n, c) => n + c.passed, 0)} tests passed`,
      );
    }
    if (options.keepUp) {
      // Held up for suite runs from other terminals (`--no-boot`); Ctrl-C (or a SIGTERM) ends it as a pass.
      bus.emit({
        type: 'stage',
        stage: 'hold',
        state: 'start',
        detail: `target up for --no-boot suite runs (job ${jobId}); Ctrl-C ends the job`,
      });
      await new Promise<void>((resolve) =>
        signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      bus.emit({ type: 'stage', stage: 'hold', state: 'end', detail: 'released' });
    }
    result = { exitCode: ExitCode.passed, outcome: 'passed', artifacts };
  } catch (error) {
    result = classify(error, artifacts);
  }

  bus.emit({ type: 'stage', stage: 'teardown', state: 'start', detail: `undoing ${teardown.size} steps` });
  const keepEventLogOpen = teardown.size > 0;
  const errors = await teardown.run((label, error) => {
    if (keepEventLogOpen)
      bus.emit({ type: 'warning', message: `teardown: could not ${label}: ${(error as Error).message}` });
  });
  if (errors.length > 0 && result.exitCode === ExitCode.passed) {
    result = {
      exitCode: ExitCode.labFault,
      outcome: 'lab-fault',
      reason: `teardown failed: ${errors[0]!.message}`,
      artifacts,
    };
  }

  if (artifacts && recorder) {
    const record = recorder.finish({
      target: target.name,
      image: image.name,
      runId,
      milestones: image.milestones,
      artifacts: {
        'console log': artifacts.consoleLog,
        'raw console bytes': artifacts.consoleRaw,
        'step events': artifacts.eventLog,
        'PXE server log': artifacts.pxeLog,
        'boot timeline': artifacts.timeline,
      },
      abortedBy:
        result.outcome === 'lab-fault' || result.outcome === 'interrupted'
          ? { type: result.outcome, message: result.reason ?? result.outcome }
          : undefined,
    });
    await writeFile(artifacts.timeline, renderTimeline(steps, `${target.name}: ${image.name} (${runId})`));
    await writeFile(artifacts.junit, renderJunit(record));
    writeAllureResults(record, artifacts.allureResults, [
      { name: 'console log', path: artifacts.consoleLog, type: 'text/plain' },
      { name: 'boot timeline', path: artifacts.timeline, type: 'image/svg+xml' },
      { name: 'PXE server log', path: artifacts.pxeLog, type: 'text/plain' },
      { name: 'step events', path: artifacts.eventLog, type: 'text/plain' },
    ]);
  }
  stopCollecting();
  bus.emit({ type: 'run-end', outcome: result.outcome, exitCode: result.exitCode, reason: result.reason });
  bootStates.stop();
  return result;
}

/** The loader files a job serves: pxelinux always (clients of no known architecture get it); iPXE to chainload, or GRUB for UEFI with 'pxelinux'. */
async function pxeLoaders(loader: Target['boot']['loader']) {
  const [bios, more] = await Promise.all([
    biosPxeLoaders(),
    loader === 'pxelinux' ? uefiGrubLoader() : ipxeChainLoaders(),
  ]);
  return [...bios, ...more];
}

function classify(error: unknown, artifacts: Artifacts | undefined): RunResult {
  if (error instanceof Interrupted)
    return { exitCode: error.exitCode, outcome: 'interrupted', reason: error.message, artifacts };
  if (error instanceof HilError) {
    const outcome = error instanceof UsageError ? 'bad-usage' : error instanceof TargetFailure ? 'failed' : 'lab-fault';
    return { exitCode: error.exitCode, outcome, reason: error.message, artifacts };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    exitCode: new LabFault(message).exitCode,
    outcome: 'lab-fault',
    reason: `unexpected error: ${message}`,
    artifacts,
  };
}
