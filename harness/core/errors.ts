/**
 * The harness's error classes. Each carries the exit code that tells Jenkins
 * whether the target failed, the input was wrong, or the lab is broken.
 */
export const ExitCode = {
  passed: 0,
  targetFailed: 1,
  badUsage: 2,
  labFault: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class HilError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line, bad target file, missing image: nothing was started. */
export class UsageError extends HilError {
  readonly exitCode = ExitCode.badUsage;
}

/** The target did not boot, or a suite failed on it. */
export class TargetFailure extends HilError {
  readonly exitCode = ExitCode.targetFailed;
}

/** The lab broke: PXE server, power driver, console, lock. */
export class LabFault extends HilError {
  readonly exitCode = ExitCode.labFault;
}

/** An error's message, its first line only (for one-line reports). */
export function firstLineOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof HilError ? error.exitCode : ExitCode.labFault;
}
