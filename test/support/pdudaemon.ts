/**
 * A real pdudaemon for tests (Debian's package) on 127.0.0.1 with a free
 * port, one PDU on its localcmdline driver that appends each outlet action
 * ("on N", "off N") to `actionsLog`. Started in `dir`; stopped by its pid.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../../harness/core/deadline.js';
import { startChild, type Child } from '../../harness/core/process.js';
import { freeTcpPort } from './ports.js';

export type Pdudaemon = { child: Child; port: number; stop(): Promise<unknown> };

export async function startPdudaemon(dir: string, pdu: string, actionsLog: string): Promise<Pdudaemon> {
  const port = await freeTcpPort();
  writeFileSync(
    join(dir, 'pdudaemon.conf'),
    JSON.stringify({
      daemon: { hostname: '127.0.0.1', port, logging_level: 'DEBUG', listener: 'http' },
      pdus: {
        [pdu]: {
          driver: 'localcmdline',
          cmd_on: `echo 'on %s' >> ${actionsLog}`,
          cmd_off: `echo 'off %s' >> ${actionsLog}`,
        },
      },
    }),
  );
  const child = startChild(
    'pdudaemon',
    'pdudaemon',
    ['--conf', join(dir, 'pdudaemon.conf'), '--logfile', join(dir, 'pdudaemon.log'), '--loglevel', 'DEBUG'],
    { cwd: dir },
  );
  try {
    // Listening once it answers an HTTP request (any answer will do).
    await Deadline.in(30_000, 'pdudaemon to listen').poll(async () => {
      try {
        await fetch(`http://127.0.0.1:${port}/`);
        return true;
      } catch {
        return undefined;
      }
    }, 200);
  } catch (error) {
    await child.stop(2000);
    throw error;
  }
  return { child, port, stop: () => child.stop(2000) };
}
