/**
 * Shared parts of the benchmark: summaries of repeated runs, a console
 * watcher for the reference boots (the harness's own milestone matcher, fed
 * from a pipe), process memory from /proc, and small helpers for the
 * namespaces the benchmark makes for its reference servers.
 *
 * Reference: proc(5) (/proc/<pid>/status VmRSS, VmHWM).
 */
import { readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { AnsiStripper } from '../harness/console/ansi.js';
import { MilestoneWatcher } from '../harness/console/milestone-watcher.js';
import type { FailurePattern } from '../harness/core/boot.js';
import type { Deadline } from '../harness/core/deadline.js';
import type { ImageDefinition } from '../harness/images/image.js';

export type Summary = { median: number; min: number; max: number; runs: number[] };

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('no runs to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: [...values] };
}

/** The two console milestones every boot of the benchmark is timed to. */
export type BootMarks = { init: RegExp; ready: RegExp; readyName: string };

export function bootMarks(image: ImageDefinition): BootMarks {
  const consoleMilestones = image.milestones.filter((m): m is typeof m & { console: RegExp } => 'console' in m);
  const init = consoleMilestones.find((m) => m.name === 'init started');
  const ready = consoleMilestones.at(-1);
  if (!init || !ready || ready === init)
    throw new Error(`image ${image.name} has no 'init started' milestone followed by a last console milestone`);
  return { init: init.console, ready: ready.console, readyName: ready.name };
}

/** Milliseconds from `origin` (performance.now()) at which each console mark was seen. */
export type MarkTimes = { initMs: number; readyMs: number };

/**
 * Watches a reference boot's serial output (a pipe) for the two marks with
 * the harness's own matcher, so that every boot is judged by the same text.
 */
export class ConsoleMarks {
  private readonly decoder = new StringDecoder('utf8');
  private readonly stripper = new AnsiStripper();
  private readonly watcher: MilestoneWatcher;
  private readonly times: Partial<MarkTimes> = {};
  private failure: string | undefined;
  private settle: (value: MarkTimes | Error) => void = () => {};
  private readonly settled = new Promise<MarkTimes | Error>((resolve) => (this.settle = resolve));
  private tail = '';

  constructor(
    marks: BootMarks,
    failurePatterns: readonly FailurePattern[],
    private readonly origin: number,
  ) {
    this.watcher = new MilestoneWatcher(
      [
        { name: 'init', console: marks.init, timeoutS: 0 },
        { name: 'ready', console: marks.ready, timeoutS: 0 },
      ],
      failurePatterns,
    );
  }

  feed(chunk: Buffer): void {
    const text = this.stripper.push(this.decoder.write(chunk));
    this.tail = (this.tail + text).slice(-2000);
    const now = performance.now() - this.origin;
    for (const result of this.watcher.feedConsole(text)) {
      if (result.kind === 'failure') {
        this.failure = `${result.pattern.name}: ${result.line}`;
        this.settle(new Error(this.failure));
        return;
      }
      if (result.milestone.name === 'init') this.times.initMs = now;
      else this.times.readyMs = now;
    }
    if (this.times.initMs !== undefined && this.times.readyMs !== undefined)
      this.settle({ initMs: this.times.initMs, readyMs: this.times.readyMs });
  }

  /** Fails the wait (e.g. the emulator exited). */
  abort(reason: string): void {
    this.settle(new Error(reason));
  }

  async wait(deadline: Deadline): Promise<MarkTimes> {
    const value = await deadline.race(this.settled, interrupted.signal).catch((error: Error) => error);
    if (value instanceof Error)
      throw new Error(`${value.message}; last console text: ${JSON.stringify(this.tail.slice(-300))}`);
    return value;
  }
}

/** Resident set size now and its peak, in MiB, from /proc/<pid>/status; undefined once the process is gone. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const rss = kib('VmRSS');
  const hwm = kib('VmHWM');
  // A zombie has a status file but no memory lines.
  if (!Number.isFinite(rss) || !Number.isFinite(hwm)) return undefined;
  return { rssMiB: rss / 1024, hwmMiB: hwm / 1024 };
}

/** Aborted when the benchmark is interrupted: every wait ends and its clean-up runs. */
export const interrupted = new AbortController();

/** A unique name part for this benchmark process's namespaces and processes. */
export const BENCH_ID = `bench${process.pid}`;
