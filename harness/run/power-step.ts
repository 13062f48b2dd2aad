/** A power action with a time-out, reported as a step event; a failure is a lab fault. */
import { Deadline } from '../core/deadline.js';
import { LabFault } from '../core/errors.js';
import type { EventBus, PowerAction } from '../core/events.js';
import type { PowerDriver } from '../power/power.js';

export async function powerStep(
  bus: EventBus,
  driver: PowerDriver,
  action: Exclude<PowerAction, 'status' | 'reset' | 'bootdev'>,
  timeoutMs = 60_000,
): Promise<void> {
  const started = performance.now();
  try {
    await Deadline.in(timeoutMs, `power ${action} via ${driver.description}`).race(driver[action]());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    bus.emit({
      type: 'power',
      action,
      driver: driver.description,
      result: `failed: ${message}`,
      durationMs: performance.now() - started,
    });
    throw error instanceof LabFault
      ? error
      : new LabFault(`power ${action} via ${driver.description} failed: ${message}`, { cause: error });
  }
  bus.emit({
    type: 'power',
    action,
    driver: driver.description,
    result: 'done',
    durationMs: performance.now() - started,
  });
}

/** Before a netboot: tells the board's BMC to boot from the network next (drivers without prepareNetboot skip it). */
export async function netbootStep(bus: EventBus, driver: PowerDriver, timeoutMs = 60_000): Promise<void> {
  if (!driver.prepareNetboot) return;
  const started = performance.now();
  try {
    await Deadline.in(timeoutMs, `boot device PXE via ${driver.description}`).race(driver.prepareNetboot());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    bus.emit({
      type: 'power',
      action: 'bootdev',
      driver: driver.description,
      result: `failed: ${message}`,
      durationMs: performance.now() - started,
    });
    throw error instanceof LabFault
      ? error
      : new LabFault(`boot device PXE via ${driver.description} failed: ${message}`, { cause: error });
  }
  bus.emit({
    type: 'power',
    action: 'bootdev',
    driver: driver.description,
    result: 'pxe',
    durationMs: performance.now() - started,
  });
}
