/**
 * The job takes its target for itself (a pool job: the first free target of
 * its pool, before its results are opened, so that they carry the target's
 * name), then clears what a killed job of the same target left.
 */
import { lockFromPool } from '../pool-lock.js';
import { lockTarget } from '../target-lock.js';
import { describeRecovery, recoverStaleJobs } from '../recovery.js';
import { type JobContext, stage } from '../job-context.js';

/** A pool job (--pool) takes the first free target of its pool; a job that names its target has nothing to do here. */
export async function takeFromPool(job: JobContext): Promise<void> {
  const pool = job.options.pool;
  if (!pool) return;
  const { bus } = job;
  const timeoutS = job.options.lockTimeoutS;
  const names = pool.targets.map((target) => target.name);
  const taken = await stage(job, 'lock', `taking a free target of pool ${pool.name} (${names.join(', ')})`, () =>
    lockFromPool(pool.name, names, {
      timeoutS,
      signal: job.signal,
      onWait: (holders) => bus.emit({ type: 'pool', pool: pool.name, state: 'waiting', holders, timeoutS }),
    }),
  );
  job.teardown.add('release the target lock', () => taken.lock.release());
  job.took(pool.targets.find((target) => target.name === taken.target)!);
  bus.emit({ type: 'pool', pool: pool.name, state: 'taken', target: taken.target });
}

export async function takeTarget(job: JobContext): Promise<void> {
  const { bus, target } = job;
  const timeoutS = job.options.lockTimeoutS;
  if (!job.options.pool) {
    const lock = await stage(job, 'lock', `locking target ${target.name}`, () =>
      lockTarget(
        target.name,
        timeoutS,
        (holder) =>
          bus.emit({
            type: 'warning',
            message: `target ${target.name} is locked by ${holder}; waiting up to ${timeoutS} s`,
          }),
        job.signal,
      ),
    );
    job.teardown.add('release the target lock', () => lock.release());
  }
  for (const recovered of await recoverStaleJobs({ target: target.name }))
    bus.emit({ type: 'warning', message: describeRecovery(recovered) });
}
