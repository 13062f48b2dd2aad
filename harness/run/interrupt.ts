/** A run stopped by a signal (Ctrl-C, a Jenkins abort): exits 128 + the signal's number. */
import { constants } from 'node:os';

export class Interrupted extends Error {
  readonly exitCode: number;
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
    this.exitCode = 128 + (constants.signals[signal] ?? 15);
  }
}
