/** The one place console sources are made from a target's `console` settings. */
import type { Target } from '../config/target.js';
import { UsageError } from '../core/errors.js';
import type { ConsoleSource } from './console.js';
import { solBmcOf } from '../config/sol-bmc.js';
import { IpmiSolConsole } from './ipmi-sol.js';
import { QemuSocketConsole } from './qemu-socket.js';
import { SerialPortConsole } from './serial-port.js';
import { TcpConsole } from './tcp.js';

export type ConsoleContext = {
  /** Where a QEMU board's serial chardev connects (the job's work directory); only a job has one. */
  consoleSocket?: string;
};

export function createConsole(config: Target['console'], context: ConsoleContext): ConsoleSource {
  switch (config.kind) {
    case 'qemu-socket':
      if (!context.consoleSocket)
        throw new UsageError("a QEMU console exists only inside a job (it needs the job's console socket)");
      return new QemuSocketConsole(context.consoleSocket);
    case 'serial':
      return new SerialPortConsole({
        path: config.path,
        baud: config.baud,
        parity: config.parity,
        dataBits: config.dataBits,
        stopBits: config.stopBits,
        flowControl: config.flowControl,
      });
    case 'tcp':
      return new TcpConsole({ host: config.host, port: config.port, telnet: config.telnet });
    case 'ipmi-sol':
      // The target loader has filled in the BMC from an IPMI power driver where the console left it out.
      return new IpmiSolConsole(solBmcOf(config));
  }
}
