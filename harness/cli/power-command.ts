/**
 * `hil power --target NAME on|off|cycle|status`: switches a lab board's power
 * outside a job, holding the target's lock so that no job is disturbed.
 * `status` prints `on` or `off` (a usage error where the driver cannot read the
 * power back: pdudaemon, power commands without a status command); the
 * driver's steps go to stderr. A QEMU board has power only inside a job, so
 * it is refused.
 */
import { loadTarget } from '../config/load-target.js';
import { ExitCode, UsageError } from '../core/errors.js';
import { EventBus } from '../core/events.js';
import { createLabPowerDriver } from '../power/create-driver.js';
import { readPowerState } from '../power/power.js';
import { attachTerminalReporter } from '../report/terminal.js';
import { powerStep } from '../run/power-step.js';
import { lockTarget } from '../run/target-lock.js';

const ACTIONS = ['on', 'off', 'cycle', 'status'] as const;
type Action = (typeof ACTIONS)[number];

export async function powerCommand(options: {
  target?: string;
  action?: string;
  targetsDir?: string;
  lockTimeoutS: number;
}): Promise<number> {
  if (!options.target) throw new UsageError('--target is required, e.g. hil power --target board1 status');
  const action = options.action as Action;
  if (!ACTIONS.includes(action))
    throw new UsageError(
      `hil power needs one of ${ACTIONS.join(', ')}${options.action ? `, got '${options.action}'` : ''}`,
    );
  const target = await loadTarget(options.target, options.targetsDir);
  const bus = new EventBus();
  attachTerminalReporter(bus, (text) => process.stderr.write(text));
  const driver = createLabPowerDriver(target, bus);
  if (!driver) {
    throw new UsageError(
      `target ${target.name} is a QEMU board: its power exists only inside a job (hil --target ${target.name}); hil power is for boards with a BMC, a PDU or power commands`,
    );
  }
  const lock = await lockTarget(target.name, options.lockTimeoutS, (holder) =>
    bus.emit({
      type: 'warning',
      message: `target ${target.name} is locked by ${holder}; waiting up to ${options.lockTimeoutS} s`,
    }),
  );
  try {
    if (action === 'status') {
      process.stdout.write(`${await readPowerState(driver)}\n`);
    } else {
      await powerStep(bus, driver, action);
    }
  } finally {
    await lock.release();
  }
  return ExitCode.passed;
}
