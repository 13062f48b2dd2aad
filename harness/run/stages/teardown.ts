/** Undoes what the job set up, last first, whatever happened; a teardown that fails turns a pass into a lab fault. */
import { ExitCode } from '../../core/errors.js';
import type { JobContext, RunResult } from '../job-context.js';

export async function tearDown(job: JobContext, result: RunResult): Promise<RunResult> {
  const { bus, teardown } = job;
  bus.emit({ type: 'stage', stage: 'teardown', state: 'start', detail: `undoing ${teardown.size} steps` });
  const reportErrors = teardown.size > 0;
  const errors = await teardown.run((label, error) => {
    if (reportErrors)
      bus.emit({ type: 'warning', message: `teardown: could not ${label}: ${(error as Error).message}` });
  });
  if (errors.length === 0 || result.exitCode !== ExitCode.passed) return result;
  return {
    exitCode: ExitCode.labFault,
    outcome: 'lab-fault',
    reason: `teardown failed: ${errors[0]!.message}`,
    results: result.results,
  };
}
