/**
 * One job per target at a time, held with a kernel lock on
 * `<lock dir>/<target>.lock` (core/file-lock.ts): the harness holds it itself,
 * so it goes when the harness ends, however it ends, and a crashed job never
 * leaves a stale lock. Beside the lock file, a note says who holds it. The
 * lock directory is the user's own (core/private-dir.ts: /run/pxe-hil/locks
 * as root, $XDG_RUNTIME_DIR/pxe-hil/locks as a user, or $PXE_HIL_LOCK_DIR),
 * and its files are never followed through a link.
 *
 * Reference: flock(1), flock(2).
 */
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabFault } from '../core/errors.js';
import { FileLock } from '../core/file-lock.js';
import { lockDir } from '../core/paths.js';
import { ensurePrivateDir, LOCK_DIR_ROLE, writePrivateFile } from '../core/private-dir.js';

export type LockOwner = { pid: number; build?: string; since: string };

export type TargetLock = { release(): Promise<void> };

export function readOwner(target: string): LockOwner | undefined {
  let fd: number;
  try {
    fd = openSync(join(lockDir(), `${target}.owner`), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(fd, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export function describeOwner(owner: LockOwner | undefined): string {
  if (!owner) return 'another job';
  return `pid ${owner.pid}${owner.build ? `, ${owner.build}` : ''}, since ${owner.since}`;
}

/**
 * Takes the target's lock, waiting up to `timeoutS`; `onWait` is told once who holds it. `signal` ends a wait
 * (its waiting holder stopped by pid) with the signal's reason; a lock once held is not touched by it.
 */
export async function lockTarget(
  target: string,
  timeoutS: number,
  onWait: (holder: string) => void,
  signal?: AbortSignal,
): Promise<TargetLock> {
  const dir = ensurePrivateDir(lockDir(), LOCK_DIR_ROLE);
  const lock = FileLock.open(join(dir, `${target}.lock`), 'lock file');
  try {
    let held = await lock.take(0);
    if (!held) {
      onWait(describeOwner(readOwner(target)));
      held = await lock.take(timeoutS, signal);
    }
    if (!held) {
      throw new LabFault(
        `target '${target}' is still locked by ${describeOwner(readOwner(target))} after ${timeoutS} s; try again later or raise --lock-timeout`,
      );
    }
    const owner: LockOwner = { pid: process.pid, build: process.env.BUILD_TAG, since: new Date().toISOString() };
    writePrivateFile(join(dir, `${target}.owner`), 'lock owner file', `${JSON.stringify(owner)}\n`);
  } catch (error) {
    lock.release();
    throw error;
  }
  return { release: async () => lock.release() };
}
