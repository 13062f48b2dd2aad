/**
 * The record of one boot, built from step events: each milestone passed,
 * failed or not reached, with its time; the reporters render it.
 */
import type { MilestoneSpec } from '../core/boot.js';
import type { EventBus, StepEvent, StepEventBodyOf } from '../core/events.js';

export type MilestoneRecord =
  | { name: string; status: 'passed'; durationMs: number; t: number }
  | { name: string; status: 'failed'; durationMs: number; type: string; message: string; detail: string }
  | { name: string; status: 'error'; durationMs: number; type: string; message: string; detail: string }
  | { name: string; status: 'skipped'; message: string };

/**
 * A file the job served from the user's own build: what it was, where it came
 * from, its size and SHA-256 (for a root file system given as a directory,
 * the SHA-256 of its listing, `digest: 'listing'`, with its number of entries).
 */
export type Provenance = Omit<StepEventBodyOf<'artifact'>, 'type'>;

/** Where a job ran: the host (its name), the pool its target was taken from, the Jenkins agent (NODE_NAME). */
export type RunPlace = { host?: string; pool?: string; jenkinsNode?: string };

export type BootRecord = RunPlace & {
  target: string;
  image: string;
  runId: string;
  startedAt: Date;
  durationMs: number;
  milestones: MilestoneRecord[];
  artifacts: Record<string, string>;
  /** The job's own files, as pinned at job start. */
  provenance: Provenance[];
};

/** Collects the events of one boot; `finish` turns them into a record. */
export class BootRecorder {
  private readonly events: StepEvent[] = [];
  private readonly provenance: Provenance[] = [];
  private readonly unsubscribe: () => void;

  constructor(private readonly bus: EventBus) {
    this.unsubscribe = bus.subscribe((event) => {
      if (event.type === 'artifact') {
        const { role, name, source, bytes, sha256, digest, entries } = event;
        this.provenance.push({
          role,
          name,
          source,
          bytes,
          sha256,
          ...(digest ? { digest } : {}),
          ...(entries !== undefined ? { entries } : {}),
        });
      }
      if (event.type === 'milestone' || event.type === 'milestone-timeout' || event.type === 'failure-pattern')
        this.events.push(event);
    });
  }

  /**
   * `abortedBy` names why the boot stopped early when it was not the target's
   * fault (a lab fault, an interrupt): the current milestone is then an error.
   */
  finish(
    info: RunPlace & {
      target: string;
      image: string;
      runId: string;
      milestones: readonly MilestoneSpec[];
      artifacts: Record<string, string>;
      abortedBy?: { type: string; message: string };
    },
  ): BootRecord {
    this.unsubscribe();
    const records: MilestoneRecord[] = [];
    let previousT = 0;
    let stopped = false;
    let reached = 0;
    for (const event of this.events) {
      if (event.type === 'milestone') {
        records.push({ name: event.name, status: 'passed', durationMs: event.durationMs, t: event.t });
        previousT = event.t;
        reached++;
      }
    }
    const failure = this.events.find((e) => e.type === 'milestone-timeout' || e.type === 'failure-pattern');
    const current = info.milestones[reached];
    if (current && failure?.type === 'milestone-timeout') {
      records.push({
        name: current.name,
        status: 'failed',
        durationMs: failure.t - previousT,
        type: 'milestone timeout',
        message: `milestone '${current.name}' not reached within ${(failure.timeoutMs / 1000).toFixed(0)} s`,
        detail: failure.lastLines.join('\n'),
      });
      stopped = true;
    } else if (current && failure?.type === 'failure-pattern') {
      records.push({
        name: current.name,
        status: 'failed',
        durationMs: failure.t - previousT,
        type: failure.name,
        message: `${failure.name}: ${failure.line}`,
        detail: failure.lastLines.join('\n'),
      });
      stopped = true;
    } else if (current && info.abortedBy) {
      records.push({
        name: current.name,
        status: 'error',
        durationMs: this.bus.now() - previousT,
        type: info.abortedBy.type,
        message: info.abortedBy.message,
        detail: '',
      });
      stopped = true;
    }
    for (const milestone of info.milestones.slice(reached + (stopped ? 1 : 0))) {
      records.push({ name: milestone.name, status: 'skipped', message: 'not reached' });
    }
    return {
      target: info.target,
      image: info.image,
      runId: info.runId,
      ...(info.host ? { host: info.host } : {}),
      ...(info.pool ? { pool: info.pool } : {}),
      ...(info.jenkinsNode ? { jenkinsNode: info.jenkinsNode } : {}),
      startedAt: this.bus.startedAt,
      durationMs: this.bus.now(),
      milestones: records,
      artifacts: info.artifacts,
      provenance: this.provenance,
    };
  }
}
