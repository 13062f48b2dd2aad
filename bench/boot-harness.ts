/**
 * A boot through pxe-hil itself: `runJob` in this process with an EventBus,
 * the milestone times, set-up and tear-down taken from its step events, and
 * the peak memory of the harness and its file server sampled meanwhile.
 *
 * The target is the given one under its own name (bench-<name>), so that its
 * lock is not the one a test run of the same target on this host holds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '../harness/config/target.js';
import { EventBus, type StepEvent } from '../harness/core/events.js';
import type { ImageDefinition } from '../harness/images/image.js';
import { runJob } from '../harness/run/run-job.js';
import { MemorySampler, type PeakMemory } from './memory.js';
import { bootMarks, interrupted, type MarkTimes, BENCH_ID } from './support.js';

export type HarnessBoot = MarkTimes & {
  jobId: string;
  /** Run start to the PXE server ready (end of the `pxe` stage). */
  setupMs: number;
  /** The last milestone to the end of the run (teardown done, reports written). */
  teardownMs: number;
  memory: PeakMemory;
};

export async function bootHarness(target: Target, image: ImageDefinition): Promise<HarnessBoot> {
  const resultsRoot = await mkdtemp(join(tmpdir(), `hil-bench-${BENCH_ID}-results-`));
  const bus = new EventBus();
  const events: StepEvent[] = [];
  const sampler = new MemorySampler();
  let followError: unknown;
  bus.subscribe((event) => {
    events.push(event);
    if (event.type === 'stage' && event.stage === 'pxe' && event.state === 'end') {
      const start = events.find((e) => e.type === 'run-start');
      try {
        if (start?.type === 'run-start') sampler.followFileServer(start.jobId);
      } catch (error) {
        followError = error;
      }
    }
  });
  try {
    sampler.start();
    const result = await runJob({
      target: { ...target, name: `bench-${target.name}` },
      image,
      resultsRoot,
      lockTimeoutS: 600,
      bus,
      signal: interrupted.signal,
    });
    if (result.exitCode !== 0)
      throw new Error(
        `pxe-hil run of ${image.name} ended ${result.outcome} (exit ${result.exitCode}): ${result.reason ?? ''}`,
      );
    if (followError) throw followError;
    return { ...timesFrom(events, image), memory: sampler.stop() };
  } finally {
    sampler.dispose();
    await rm(resultsRoot, { recursive: true, force: true });
  }
}

/** Milestone, set-up and tear-down times of one run, from its step events. */
export function timesFrom(events: readonly StepEvent[], image: ImageDefinition): Omit<HarnessBoot, 'memory'> {
  const marks = bootMarks(image);
  const find = <T extends StepEvent>(what: string, predicate: (e: StepEvent) => e is T): T => {
    const found = events.find(predicate);
    if (!found) throw new Error(`no ${what} event in the run`);
    return found;
  };
  const start = find('run-start', (e): e is Extract<StepEvent, { type: 'run-start' }> => e.type === 'run-start');
  const pxeReady = find(
    'pxe stage end',
    (e): e is StepEvent => e.type === 'stage' && e.stage === 'pxe' && e.state === 'end',
  );
  const init = find(
    "'init started' milestone",
    (e): e is StepEvent => e.type === 'milestone' && e.name === 'init started',
  );
  const ready = find(
    `'${marks.readyName}' milestone`,
    (e): e is StepEvent => e.type === 'milestone' && e.name === marks.readyName,
  );
  const end = find('run-end', (e): e is StepEvent => e.type === 'run-end');
  return {
    jobId: start.jobId,
    setupMs: pxeReady.t - start.t,
    initMs: init.t - start.t,
    readyMs: ready.t - start.t,
    teardownMs: end.t - ready.t,
  };
}
