/** Builds the power driver a target names. */
import type { Target } from '../config/target.js';
import type { PowerDriver } from './power.js';
import { QemuPower, type QemuBoardWiring } from './qemu.js';

export type BoardWiring = QemuBoardWiring;

export function createPowerDriver(target: Target, wiring: BoardWiring): PowerDriver {
  switch (target.power.driver) {
    case 'qemu':
      return new QemuPower(target.power, wiring);
  }
}
