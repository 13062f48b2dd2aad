/**
 * One job per target at a time, held with a kernel lock (flock(1) from
 * util-linux) by a small child whose stdin is a pipe from the harness: when the
 * harness exits or is killed, the pipe closes, the child exits and the kernel
 * drops the lock, so a crashed job never leaves a stale lock. Beside the lock
 * file, a note says who holds it.
 *
 * Reference: flock(1), flock(2).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Child, startChild } from '../core/process.js';
import { LabFault } from '../core/errors.js';

export type LockOwner = { pid: number; build?: string; since: string };

export type TargetLock = { release(): Promise<void> };

export function lockDir(): string {
  if (process.env.PXE_HIL_LOCK_DIR) return process.env.PXE_HIL_LOCK_DIR;
  return process.getuid?.() === 0 ? '/run/lock/pxe-hil' : join(process.env.XDG_RUNTIME_DIR ?? '/tmp', 'pxe-hil-locks');
}

export function readOwner(target: string): LockOwner | undefined {
  const file = join(lockDir(), `${target}.owner`);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return undefined;
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
  const dir = lockDir();
  await mkdir(dir, { recursive: true });
  const lockFile = join(dir, `${target}.lock`);
  let held = await tryLock(lockFile, 0);
  if (!held) {
    onWait(describeOwner(readOwner(target)));
    held = await tryLock(lockFile, timeoutS, signal);
  }
  if (!held) {
    signal?.throwIfAborted();
    throw new LabFault(
      `target '${target}' is still locked by ${describeOwner(readOwner(target))} after ${timeoutS} s; try again later or raise --lock-timeout`,
    );
  }
  const owner: LockOwner = { pid: process.pid, build: process.env.BUILD_TAG, since: new Date().toISOString() };
  await writeFile(join(dir, `${target}.owner`), `${JSON.stringify(owner)}\n`);
  return {
    async release() {
      held.holder.subprocess.stdin?.end();
      await held.holder.exited;
    },
  };
}

/**
 * Starts a lock holder; resolves with it once the lock is held, or undefined if it could not be had in time.
 * (Wrapped in an object: an async function returning the child itself would wait for it to exit.)
 */
async function tryLock(
  lockFile: string,
  timeoutS: number,
  signal?: AbortSignal,
): Promise<{ holder: Child } | undefined> {
  let gotLock: (locked: boolean) => void = () => {};
  const locked = new Promise<boolean>((resolve) => (gotLock = resolve));
  const child = startChild(
    'flock',
    'flock',
    [
      '--exclusive',
      ...(timeoutS > 0 ? ['--wait', String(timeoutS)] : ['--nonblock']),
      '--conflict-exit-code',
      '75',
      lockFile,
      'sh',
      '-c',
      'echo locked; exec cat >/dev/null',
    ],
    { stdin: 'pipe', onStdoutData: () => gotLock(true) },
  );
  void child.exited.then(() => gotLock(false));
  const stopWaiting = () => void child.stop();
  signal?.addEventListener('abort', stopWaiting, { once: true });
  if (signal?.aborted) stopWaiting();
  const got = await locked;
  signal?.removeEventListener('abort', stopWaiting);
  return got ? { holder: child } : undefined;
}
