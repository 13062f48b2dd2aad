/**
 * The board's power for the job: its driver, switched off at the end when the
 * target says so, and served on the job's power socket so suites can switch
 * it through the job (fixtures/target.ts).
 */
import { createPowerDriver } from '../../power/create-driver.js';
import type { PowerDriver } from '../../power/power.js';
import type { PxeServer } from '../../pxe/pxe-server.js';
import type { JobContext } from '../job-context.js';
import { servePowerControl } from '../power-control.js';
import { powerStep } from '../power-step.js';
import { jobSockets } from './console.js';
import type { Board } from './plan-boot.js';

export async function wirePower(job: JobContext, pxe: PxeServer, board: Board): Promise<PowerDriver> {
  const { bus, target } = job;
  const sockets = jobSockets(job);
  const power = createPowerDriver(
    target,
    {
      name: `hil-${target.name}-${job.jobId}`,
      workDir: job.workDir,
      consoleSocket: sockets.console,
      netns: pxe.netns,
      tap: pxe.tap,
      mac: board.mac,
    },
    bus,
  );
  if (target.powerOffAtEnd) job.teardown.add('power the target off', () => powerStep(bus, power, 'off'));
  const control = await servePowerControl(bus, power, sockets.powerControl);
  job.teardown.add('stop serving power control', () => control.close());
  return power;
}
