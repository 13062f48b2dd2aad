/**
 * A job that asks for any board of a pool takes the first free one, with the
 * same per-target locks as a job that names its target (target-lock.ts):
 * first each target of the pool in order, without waiting; when all are
 * held, one waiting lock per target at once, up to the time-out. The first
 * to get its lock wins; the other waits are stopped by pid, and a lock one
 * of them got in the same moment is let go again.
 *
 * Reference: flock(1), flock(2).
 */
import { LabFault } from '../core/errors.js';
import { describeOwner, lockTarget, readOwner, type TargetLock } from './target-lock.js';

/** Who holds each target of the pool, as the waiting job says it. */
export type PoolHolder = { target: string; holder: string };

export type PoolLock = { target: string; lock: TargetLock };

export type PoolLockOptions = {
  timeoutS: number;
  /** Told once, when every target of the pool is held, who holds each. */
  onWait: (holders: PoolHolder[]) => void;
  /** Ends a wait with the signal's reason (an interrupt). */
  signal?: AbortSignal;
};

export async function lockFromPool(
  pool: string,
  targets: readonly string[],
  options: PoolLockOptions,
): Promise<PoolLock> {
  const holders: PoolHolder[] = [];
  for (const target of targets) {
    const lock = await lockTarget(target, 0, (holder) => holders.push({ target, holder })).catch((error: unknown) => {
      if (error instanceof LabFault) return undefined;
      throw error;
    });
    if (lock) return { target, lock };
  }
  options.onWait(holders);
  const taken = options.timeoutS > 0 ? await firstOf(targets, options) : undefined;
  if (taken) return taken;
  options.signal?.throwIfAborted();
  const now = targets.map((target) => `${target}: ${describeOwner(readOwner(target))}`);
  throw new LabFault(
    `pool '${pool}' has no free target after ${options.timeoutS} s (${now.join('; ')}); try again later, raise --lock-timeout, or add a board to the pool`,
  );
}

/** One waiting lock per target; the first to get its lock wins, the others are stopped (or let go). */
async function firstOf(targets: readonly string[], options: PoolLockOptions): Promise<PoolLock | undefined> {
  const others = new AbortController();
  const stop = () => others.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  const waits = targets.map((target) =>
    lockTarget(target, options.timeoutS, () => {}, others.signal).then((lock) => ({ target, lock })),
  );
  let won: PoolLock | undefined;
  try {
    won = await Promise.any(waits).catch(() => undefined);
    return won;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    others.abort();
    for (const settled of await Promise.allSettled(waits))
      if (settled.status === 'fulfilled' && settled.value !== won) await settled.value.lock.release();
  }
}
