/**
 * The board's console for the job: opened (and logged to the results) before
 * the power cycle, so the first byte is seen, and shared on a socket for
 * `hil console` and the suites. The job's record gets its wiring here.
 */
import { join } from 'node:path';
import { ConsoleHub } from '../../console/console-hub.js';
import { shareConsole } from '../../console/console-share.js';
import { createConsole } from '../../console/create-console.js';
import { writeJobRecord } from '../../core/job-record.js';
import type { PxeServer } from '../../pxe/pxe-server.js';
import { type JobContext, stage } from '../job-context.js';
import type { Board } from './plan-boot.js';
import { baseRecord } from './pxe.js';

/** The job's sockets in its directory. */
export function jobSockets(job: JobContext) {
  return {
    console: join(job.workDir, 'console.sock'),
    consoleShare: join(job.workDir, 'console-share.sock'),
    powerControl: join(job.workDir, 'power.sock'),
  };
}

export async function openConsole(job: JobContext, pxe: PxeServer, board: Board): Promise<ConsoleHub> {
  const sockets = jobSockets(job);
  const source = createConsole(job.target.console, { consoleSocket: sockets.console });
  // The job's wiring, for tools that attach to a running job (and for finding what a crashed job left).
  await writeJobRecord(job.workDir, {
    ...baseRecord(job),
    netns: pxe.netns,
    tap: pxe.tap,
    mac: board.mac,
    boardIp: board.ip,
    serverIp: pxe.network.serverIp,
    consoleSocket: sockets.console,
    consoleEndpoint: source.endpoint,
    consoleShare: sockets.consoleShare,
    powerControl: sockets.powerControl,
  });
  const hub = new ConsoleHub(source, job.bus);
  const results = job.results!;
  await stage(job, 'console', `opening console ${source.endpoint}`, () =>
    hub.open({ raw: results.consoleRaw, text: results.consoleLog }),
  );
  job.teardown.add('close the console', () => hub.close());
  const share = await shareConsole(hub, sockets.consoleShare);
  job.teardown.add('stop sharing the console', () => share.close());
  return hub;
}
