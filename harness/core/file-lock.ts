/**
 * Kernel file locks (flock(2)) held by the harness itself: flock(1) locks a
 * descriptor it inherits from the harness as fd 3 and exits, and the lock
 * stays with the harness's open file until the harness closes it or ends,
 * however it ends (SIGKILL too, and a dead harness nobody has reaped yet
 * holds no file). No helper process outlives the harness holding it. Lock
 * files are opened without following links (core/private-dir.ts).
 *
 * Reference: flock(1) ("flock [options] number"), flock(2), open(2) (O_CLOEXEC:
 * Node opens files close-on-exec, so no other child inherits the lock).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { Deadline } from './deadline.js';
import { openPrivateFile } from './private-dir.js';
import { runAtOnce, runBounded } from './process.js';

/** flock(1)'s exit code when the lock is held elsewhere (--conflict-exit-code). */
const CONFLICT = 75;

export class FileLock {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens (or makes, 0600) the lock file; `what` names it in the error when it is a link. */
  static open(path: string, what: string): FileLock {
    return new FileLock(path, openPrivateFile(path, what));
  }

  /**
   * Takes the lock (exclusive), waiting up to `waitS` (0: not at all); false when another holder kept it.
   * `signal` ends a wait early, rejecting with its reason.
   */
  async take(waitS: number, signal?: AbortSignal): Promise<boolean> {
    if (this.fd === undefined) throw new Error(`lock ${this.path} is closed`);
    const wait = waitS > 0 ? ['--wait', String(waitS)] : ['--nonblock'];
    const outcome = await runBounded('flock', ['--exclusive', ...wait, '--conflict-exit-code', String(CONFLICT), '3'], {
      fd3: this.fd,
      deadline: Deadline.in((waitS + 30) * 1000, `flock on ${this.path}`),
      signal,
    });
    if (outcome.exitCode === 0) return true;
    if (outcome.exitCode === CONFLICT) return false;
    throw new Error(`flock on ${this.path} failed (exit ${outcome.exitCode ?? 'by signal'}): ${outcome.stderr.trim()}`);
  }

  /** Lets go of the lock (closes the file). */
  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Whether some process holds a lock on `path` now (tried with a shared lock,
 * so that two checkers never take each other for a holder); undefined when
 * there is no such file. A link or a file that cannot be tried counts as held.
 */
export function isLockHeld(path: string): boolean | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : true;
  }
  try {
    const code = runAtOnce('flock', ['--shared', '--nonblock', '--conflict-exit-code', String(CONFLICT), '3'], {
      fd3: fd,
    });
    return code !== 0;
  } finally {
    closeSync(fd);
  }
}
