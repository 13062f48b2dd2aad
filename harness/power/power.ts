/**
 * The power protocol. Every driver (QEMU, IPMI, PDU, command) implements it;
 * adding a driver is one file.
 */
export type PowerState = 'on' | 'off';

export interface PowerDriver {
  /** Driver name and what it switches, for logs: 'qemu', 'ipmi 10.0.0.5'. */
  readonly description: string;
  on(): Promise<void>;
  off(): Promise<void>;
  /** Off, then on: the board starts from cold. */
  cycle(): Promise<void>;
  status(): Promise<PowerState>;
  /** For boards that need it (a BMC): make the next boot a network boot. Called before the cycle. */
  prepareNetboot?(): Promise<void>;
  /**
   * For boards whose power can vanish without being asked (a QEMU process that dies):
   * calls `listener` with the reason when the board goes off unasked. Returns the unsubscribe.
   */
  onLost?(listener: (reason: string) => void): () => void;
}
