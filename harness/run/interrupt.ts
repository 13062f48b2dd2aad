/**
 * A run stopped by a signal (Ctrl-C, a Jenkins abort), or by what stands for
 * one (its output closed: SIGPIPE): exits 128 + the signal's number.
 */
import { constants } from 'node:os';

export class Interrupted extends Error {
  readonly exitCode: number;
  constructor(
    readonly signal: NodeJS.Signals,
    why?: string,
  ) {
    super(why ? `interrupted by ${signal}: ${why}` : `interrupted by ${signal}`);
    this.name = 'Interrupted';
    this.exitCode = 128 + (constants.signals[signal] ?? 15);
  }
}
