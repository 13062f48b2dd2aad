/** A power action with a time-out, reported as a step event; a failure is a lab fault. */
import { Deadline } from '../core/deadline.js';
import { LabFault } from '../core/errors.js';
import type { EventBus, PowerAction } from '../core/events.js';
import type { PowerDriver } from '../power/power.js';

export function powerStep(
  bus: EventBus,
  driver: PowerDriver,
  action: Exclude<PowerAction, 'status' | 'reset' | 'bootdev'>,
  timeoutMs = 60_000,
): Promise<void> {
  return reportedStep(bus, driver, action, `power ${action}`, () => driver[action](), timeoutMs);
}

/** Before a netboot: tells the board's BMC to boot from the network next (drivers without prepareNetboot skip it). */
export async function netbootStep(bus: EventBus, driver: PowerDriver, timeoutMs = 60_000): Promise<void> {
  const prepare = driver.prepareNetboot?.bind(driver);
  if (!prepare) return;
  await reportedStep(bus, driver, 'bootdev', 'boot device PXE', prepare, timeoutMs);
}

async function reportedStep(
  bus: EventBus,
  driver: PowerDriver,
  action: PowerAction,
  what: string,
  act: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  const started = performance.now();
  const via = `${what} via ${driver.description}`;
  try {
    await Deadline.in(timeoutMs, via).race(act());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    bus.emit({
      type: 'power',
      action,
      driver: driver.description,
      ok: false,
      error: message,
      durationMs: performance.now() - started,
    });
    throw error instanceof LabFault ? error : new LabFault(`${via} failed: ${message}`, { cause: error });
  }
  bus.emit({ type: 'power', action, driver: driver.description, ok: true, durationMs: performance.now() - started });
}
