/** The suites the run was asked for, over SSH on the booted board, then, with --keep-up, the board held up. */
import type { PxeServer } from '../../pxe/pxe-server.js';
import { type JobContext, stage } from '../job-context.js';
import { runSuites } from '../suite-runner.js';
import { jobSockets } from './console.js';
import type { BootPlan } from './plan-boot.js';

export async function testTarget(
  job: JobContext,
  plan: BootPlan,
  pxe: PxeServer,
  leasedIp: () => string | undefined,
): Promise<void> {
  const suiteFiles = job.options.suiteFiles ?? [];
  if (suiteFiles.length === 0) return;
  const { bus, target } = job;
  const sockets = jobSockets(job);
  const boardIp = leasedIp() ?? plan.board.ip;
  await stage(
    job,
    'suites',
    `running ${suiteFiles.length} suite${suiteFiles.length > 1 ? 's' : ''} over SSH`,
    () =>
      runSuites({
        bus,
        signal: job.signal,
        workDir: job.workDir,
        netns: pxe.netns,
        boardIp,
        target,
        prepared: plan.prepared,
        ssh: plan.ssh,
        job: {
          jobId: job.jobId,
          target: target.name,
          runId: job.runId,
          image: job.image.name,
          mac: plan.board.mac,
          serverIp: pxe.network.serverIp,
          consoleShare: sockets.consoleShare,
          powerControl: sockets.powerControl,
        },
        suiteFiles,
        resultsDir: job.results!.dir,
        onLogLine: (line) => job.logLine('ssh-forwarder', line),
      }),
    (counts) => `${counts.reduce((n, c) => n + c.passed, 0)} tests passed`,
  );
}

/** Held up for suite runs from other terminals (`--no-boot`); Ctrl-C (or a SIGTERM) ends it as a pass. */
export async function holdTarget(job: JobContext): Promise<void> {
  if (!job.options.keepUp) return;
  const { bus, signal } = job;
  bus.emit({
    type: 'stage',
    stage: 'hold',
    state: 'start',
    detail: `target up for --no-boot suite runs (job ${job.jobId}); Ctrl-C ends the job`,
  });
  await new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  bus.emit({ type: 'stage', stage: 'hold', state: 'end', detail: 'released' });
}
