/**
 * Runs one short power command (ipmitool, a lab's shell command) to its end
 * or to a deadline, whichever comes first. The command runs in its own process
 * group, so a time-out ends it and everything it started, by its pid. Extra
 * environment (a BMC password) goes to the child's environment only, never
 * onto its command line.
 */
import { execa } from 'execa';
import { type Deadline, TimeoutError } from '../core/deadline.js';

export type CommandOutcome = {
  /** null when the command was stopped at its deadline or by a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
};

export type BoundedOptions = {
  deadline: Deadline;
  /** Added to the inherited environment of the child only. */
  env?: Record<string, string>;
  /** Run through `sh -c` (for lab commands written as one line). */
  shell?: boolean;
  cwd?: string;
};

export async function runBounded(
  file: string,
  args: readonly string[],
  options: BoundedOptions,
): Promise<CommandOutcome> {
  const started = performance.now();
  const [program, argv] = options.shell ? ['/bin/sh', ['-c', file, ...args]] : [file, [...args]];
  const subprocess = execa(program, argv, {
    env: options.env,
    cwd: options.cwd,
    detached: true,
    cleanup: true,
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: true,
  });
  try {
    const result = await options.deadline.race(subprocess);
    return {
      exitCode: result.exitCode ?? null,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut: false,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    killGroup(subprocess.pid);
    const result = await subprocess;
    return {
      exitCode: null,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut: true,
      durationMs: performance.now() - started,
    };
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The last `lines` non-empty lines of a command's output, joined for a one-line message. */
export function tailOf(text: string, lines = 3): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}

/** Replaces every occurrence of each secret with '***'. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}
