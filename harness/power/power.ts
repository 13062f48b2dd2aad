/**
 * The power protocol. Every driver (QEMU, IPMI, PDU, command) implements it;
 * adding a driver is one file.
 */
import { UsageError } from '../core/errors.js';

export type PowerState = 'on' | 'off';

export interface PowerDriver {
  /** Driver name and what it switches, for logs: 'qemu', 'ipmi 10.0.0.5'. */
  readonly description: string;
  on(): Promise<void>;
  off(): Promise<void>;
  /** Off, then on: the board starts from cold. */
  cycle(): Promise<void>;
  /**
   * Reads the power back. Absent where the driver has no way to (pdudaemon; power commands without a
   * status command): `withoutStatus` then says why, and what would give one.
   */
  status?(): Promise<PowerState>;
  readonly withoutStatus?: string;
  /** For boards that need it (a BMC): make the next boot a network boot. Called before the cycle. */
  prepareNetboot?(): Promise<void>;
  /**
   * For boards whose power can vanish without being asked (a QEMU process that dies):
   * calls `listener` with the reason when the board goes off unasked. Returns the unsubscribe.
   */
  onLost?(listener: (reason: string) => void): () => void;
}

/** The power as the driver reads it back; a usage error naming the driver where it cannot read it. */
export async function readPowerState(driver: PowerDriver): Promise<PowerState> {
  if (!driver.status)
    throw new UsageError(
      `power driver '${driver.description}' cannot report the power state: ${driver.withoutStatus ?? 'it has no status'}`,
    );
  return driver.status();
}
