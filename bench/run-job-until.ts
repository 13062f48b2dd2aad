/**
 * One pxe-hil job run in the benchmark's own process (runJob) on a bench copy
 * of a target, with a results folder of its own that is removed afterwards,
 * stopped as soon as `watch` says the measurement is done. Used where a
 * figure is read from the job's step events (bench/uboot-floor.ts,
 * bench/uboot-window.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '../harness/config/target.js';
import { EventBus, type StepEvent } from '../harness/core/events.js';
import type { ImageDefinition } from '../harness/images/image.js';
import { runJob } from '../harness/run/run-job.js';
import { BENCH_ID, interrupted } from './support.js';

/** Runs the job until `watch` calls `done` (or the job ends); `label` names its results folder. */
export async function runJobUntil(
  target: Target,
  image: ImageDefinition,
  label: string,
  watch: (event: StepEvent, done: (why: string) => void) => void,
): Promise<void> {
  const resultsRoot = await mkdtemp(join(tmpdir(), `hil-bench-${BENCH_ID}-${label}-`));
  const bus = new EventBus();
  const stop = new AbortController();
  bus.subscribe((event) => watch(event, (why) => stop.abort(new Error(why))));
  try {
    await runJob({
      target: { ...target, name: `bench-${target.name}` },
      image,
      resultsRoot,
      lockTimeoutS: 600,
      bus,
      signal: AbortSignal.any([interrupted.signal, stop.signal]),
    });
  } finally {
    await rm(resultsRoot, { recursive: true, force: true });
  }
  interrupted.signal.throwIfAborted();
}
