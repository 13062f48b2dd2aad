/** The job takes its target for itself, then clears what a killed job of the same target left. */
import { lockTarget } from '../target-lock.js';
import { describeRecovery, recoverStaleJobs } from '../recovery.js';
import { type JobContext, stage } from '../job-context.js';

export async function takeTarget(job: JobContext): Promise<void> {
  const { bus, target } = job;
  const timeoutS = job.options.lockTimeoutS;
  const lock = await stage(job, 'lock', `locking target ${target.name}`, () =>
    lockTarget(target.name, timeoutS, (holder) =>
      bus.emit({
        type: 'warning',
        message: `target ${target.name} is locked by ${holder}; waiting up to ${timeoutS} s`,
      }),
    ),
  );
  job.teardown.add('release the target lock', () => lock.release());
  for (const recovered of await recoverStaleJobs({ target: target.name }))
    bus.emit({ type: 'warning', message: describeRecovery(recovered) });
}
