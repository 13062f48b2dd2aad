/**
 * The run's results directory: opened first (the event log, the run-start
 * event), written last (timeline, JUnit, Allure), whatever happened between.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resultPaths } from '../../core/paths.js';
import { writeAllureResults } from '../../report/allure.js';
import { BootRecorder } from '../../report/boot-record.js';
import { writeEventLog } from '../../report/event-log.js';
import { renderJunit } from '../../report/junit.js';
import { renderTimeline } from '../../report/timeline.js';
import type { JobContext, RunResult } from '../job-context.js';

export type RunReports = { write(result: RunResult): Promise<void> };

export async function openResults(job: JobContext): Promise<RunReports> {
  const { bus, target, image } = job;
  const results = resultPaths(job.options.resultsRoot, target.name, job.runId);
  await mkdir(results.dir, { recursive: true });
  job.results = results;
  job.teardown.add('close the event log', writeEventLog(bus, results.eventLog, [...job.steps]));
  bus.emit({
    type: 'run-start',
    runId: job.runId,
    jobId: job.jobId,
    target: target.name,
    image: image.name,
    resultsDir: results.dir,
    ...(job.options.pool ? { pool: job.options.pool.name } : {}),
  });
  const recorder = new BootRecorder(bus);
  return { write: (result) => writeReports(job, recorder, result) };
}

async function writeReports(job: JobContext, recorder: BootRecorder, result: RunResult): Promise<void> {
  const results = job.results!;
  const { target, image } = job;
  const aborted = result.outcome === 'lab-fault' || result.outcome === 'interrupted';
  const keptRootfs = job.steps.find((e) => e.type === 'rootfs' && e.state === 'kept');
  const record = recorder.finish({
    target: target.name,
    image: image.name,
    runId: job.runId,
    // Where the job ran: a failure that follows one host or one board shows in Jenkins' test history.
    host: hostname(),
    pool: job.options.pool?.name,
    jenkinsNode: process.env.NODE_NAME || undefined,
    milestones: image.milestones,
    artifacts: {
      'console log': results.consoleLog,
      'raw console bytes': results.consoleRaw,
      'step events': results.eventLog,
      'PXE server log': results.pxeLog,
      'boot timeline': results.timeline,
      ...(keptRootfs?.type === 'rootfs' ? { "the job's root file system (kept)": keptRootfs.path } : {}),
    },
    abortedBy: aborted ? { type: result.outcome, message: result.reason ?? result.outcome } : undefined,
  });
  await writeFile(results.timeline, renderTimeline(job.steps, `${target.name}: ${image.name} (${job.runId})`));
  await writeFile(results.junit, renderJunit(record));
  writeAllureResults(record, results.allureResults, [
    { name: 'console log', path: results.consoleLog, type: 'text/plain' },
    { name: 'boot timeline', path: results.timeline, type: 'image/svg+xml' },
    { name: 'PXE server log', path: results.pxeLog, type: 'text/plain' },
    { name: 'step events', path: results.eventLog, type: 'text/plain' },
  ]);
}
