/** Builds the power driver a target names. */
import type { Target } from '../config/target.js';
import type { EventBus } from '../core/events.js';
import { CommandPower } from './command.js';
import { IpmiPower } from './ipmi.js';
import { PdudaemonPower } from './pdudaemon.js';
import type { PowerDriver } from './power.js';
import { QemuPower, type QemuBoardWiring } from './qemu.js';
import { SnmpPduPower } from './snmp-pdu.js';

export type BoardWiring = QemuBoardWiring;

export function createPowerDriver(target: Target, wiring: BoardWiring, bus?: EventBus): PowerDriver {
  switch (target.power.driver) {
    case 'qemu':
      return new QemuPower(target.power, wiring);
    default:
      return createLabPowerDriver(target, bus)!;
  }
}

/** The driver of a real board's power, outside a job (the `hil power` command); a QEMU board has none. */
export function createLabPowerDriver(target: Target, bus?: EventBus): PowerDriver | undefined {
  switch (target.power.driver) {
    case 'qemu':
      return undefined;
    case 'ipmi':
      return new IpmiPower(target.power, { bus });
    case 'command':
      return new CommandPower(target.power, { bus });
    case 'snmp-pdu':
      return new SnmpPduPower(target.power, { bus });
    case 'pdudaemon':
      return new PdudaemonPower(target.power);
  }
}
