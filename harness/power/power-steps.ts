/**
 * The steps the power drivers share, written once, as labgrid's
 * NetworkPowerDriver cycles once for every PDU backend: a cycle made of off,
 * a pause and on, for a backend without a cycle of its own; and the
 * confirmation of an action by reading the power back until it is the state
 * asked for.
 */
import { type Deadline, sleep } from '../core/deadline.js';
import { LabFault } from '../core/errors.js';
import type { PowerDriver, PowerState } from './power.js';

/** Off, `offTimeS` seconds without power, then on: the board starts from cold. */
export async function cycleByOffOn(driver: Pick<PowerDriver, 'on' | 'off'>, offTimeS: number): Promise<void> {
  await driver.off();
  if (offTimeS > 0) await sleep(offTimeS * 1000);
  await driver.on();
}

/**
 * Reads the power back every `intervalMs` until it is `wanted`. A lab fault of a read passes through; a
 * state that does not come before `deadline` is a lab fault saying `notConfirmed(the last state read)`.
 */
export async function confirmState(
  readStatus: () => Promise<PowerState>,
  wanted: PowerState,
  deadline: Deadline,
  options: { intervalMs: number; notConfirmed: (last: PowerState | undefined) => string },
): Promise<void> {
  let last: PowerState | undefined;
  try {
    await deadline.poll(async () => {
      last = await readStatus();
      return last === wanted ? true : undefined;
    }, options.intervalMs);
  } catch (error) {
    if (error instanceof LabFault) throw error;
    throw new LabFault(options.notConfirmed(last), { cause: error });
  }
}
