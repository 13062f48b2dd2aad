/**
 * The run's typed step events. Every part of the harness reports what it does
 * here, and every reporter (terminal, JUnit, event log, timeline) subscribes;
 * nothing else prints.
 */
import type { BootState, FileRole } from './boot.js';
import { redact } from './redact.js';

export type Stage =
  | 'config'
  | 'lock'
  | 'images'
  | 'pxe'
  | 'nfs'
  | 'console'
  | 'power'
  | 'boot'
  | 'suites'
  | 'hold'
  | 'report'
  | 'teardown';
export type PowerAction = 'on' | 'off' | 'cycle' | 'reset' | 'status' | 'bootdev';
/** What a power action came to: done, or failed with the reason. */
export type PowerOutcome = { ok: true } | { ok: false; error: string };
export type FileProtocol = 'tftp' | 'http';
/** The job's NFS server names this many refused clients as events, then only counts them. */
export const NFS_NAMED_REFUSALS = 3;

export type StepEventBody =
  | {
      type: 'run-start';
      runId: string;
      jobId: string;
      target: string;
      image: string;
      resultsDir: string;
      /** The pool the target was taken from (--pool). */
      pool?: string;
    }
  | { type: 'stage'; stage: Stage; state: 'start' | 'end'; detail?: string }
  | ({ type: 'power'; action: PowerAction; driver: string; durationMs: number } & PowerOutcome)
  | { type: 'dhcp'; message: string; mac: string; ip?: string; detail?: string }
  | { type: 'lease'; mac: string; ip: string; hostname?: string }
  | { type: 'file-requested'; protocol: FileProtocol; path: string; client: string }
  | {
      type: 'file-served';
      protocol: FileProtocol;
      path: string;
      role: FileRole;
      client: string;
      bytes: number;
      durationMs: number;
    }
  | { type: 'file-failed'; protocol: FileProtocol; path: string; client: string; reason: string }
  | {
      type: 'artifact';
      role: string;
      name: string;
      source: string;
      bytes: number;
      sha256: string;
      /** What sha256 is of: the file's content (default), or a directory's listing (harness/images/rootfs-copy.ts). */
      digest?: 'content' | 'listing';
      /** A directory's number of entries, with its listing digest. */
      entries?: number;
    }
  | {
      type: 'rootfs';
      /** 'pinned': the job's copy is made; 'kept': it was moved to `path` at the end, as asked (--keep-rootfs). */
      state: 'pinned' | 'kept';
      path: string;
      method?: 'reflink' | 'copy' | 'unpack';
      durationMs?: number;
    }
  | {
      type: 'nfs';
      /**
       * 'up': the job's NFS server answers (durationMs: its start); 'mount'/'unmount': the board's client;
       * 'refused': a client the export does not let in (the first few; `refused` counts them all); 'down': stopped.
       */
      state: 'up' | 'mount' | 'unmount' | 'refused' | 'down';
      client?: string;
      path?: string;
      version?: number;
      durationMs?: number;
      /** On 'down' (and each 'refused'): how many refusals there were so far. */
      refused?: number;
    }
  /**
   * Requests from clients other than the job's board, which the job does not
   * answer: counted, and reported when the count reaches 1, 10, 100, ... (so
   * never more than a few events), with the last such client.
   */
  | { type: 'refused'; what: 'dhcp' | FileProtocol; count: number; client: string }
  | { type: 'milestone'; name: string; durationMs: number; text?: string }
  | { type: 'milestone-timeout'; name: string; timeoutMs: number; lastLines: string[] }
  | { type: 'failure-pattern'; name: string; line: string; lastLines: string[] }
  | { type: 'console'; state: 'connected' | 'disconnected'; detail?: string }
  | { type: 'command'; command: string; exitCode: number | null; durationMs: number }
  | { type: 'warning'; message: string }
  /** A job asking for any target of a pool: every one is held (by whom), or it took this one. */
  | { type: 'pool'; pool: string; state: 'waiting'; holders: { target: string; holder: string }[]; timeoutS: number }
  | { type: 'pool'; pool: string; state: 'taken'; target: string }
  | {
      type: 'ssh';
      state: 'ready' | 'failed';
      address: string;
      fingerprint: string;
      durationMs: number;
      detail?: string;
    }
  | {
      type: 'suite';
      name: string;
      state: 'start' | 'end';
      passed?: number;
      failed?: number;
      skipped?: number;
      durationMs?: number;
    }
  | { type: 'boot-state'; from: BootState; to: BootState; reason: string }
  | {
      type: 'bootloader-command';
      command: string;
      result: 'ok' | 'failed' | 'sent';
      durationMs: number;
      detail?: string;
    }
  | { type: 'bootloader-load'; file: string; bytes: number }
  /** A firmware's wait for a key, answered so the boot goes on (harness/run/firmware-prompts.ts). */
  | { type: 'firmware-prompt'; prompt: string; answer: string }
  | {
      type: 'run-end';
      outcome: 'passed' | 'failed' | 'lab-fault' | 'bad-usage' | 'interrupted';
      exitCode: number;
      reason?: string;
    };

/** `t` is milliseconds since the run started; `at` is wall-clock time. */
export type StepEvent = StepEventBody & { t: number; at: string };
export type StepEventOf<K extends StepEvent['type']> = Extract<StepEvent, { type: K }>;
/** An event as it is emitted (no time stamps yet). */
export type StepEventBodyOf<K extends StepEventBody['type']> = Extract<StepEventBody, { type: K }>;
export type Listener = (event: StepEvent) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();
  private readonly origin: number;
  readonly startedAt: Date;

  constructor(origin: number = performance.now()) {
    this.origin = origin;
    this.startedAt = new Date(Date.now() - (performance.now() - origin));
  }

  /** Milliseconds since the run started. */
  now(): number {
    return performance.now() - this.origin;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(body: StepEventBody): StepEvent {
    const event = { ...body, t: this.now(), at: new Date().toISOString() } as StepEvent;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A broken reporter must not break the run; it is reported once on stderr.
        process.stderr.write(`reporter error on ${event.type}: ${redact(String(error))}\n`);
      }
    }
    return event;
  }

  /** Resolves with the first event matching `predicate` from now on. */
  next<K extends StepEvent['type']>(
    type: K,
    predicate: (event: StepEventOf<K>) => boolean = () => true,
  ): {
    promise: Promise<StepEventOf<K>>;
    cancel: () => void;
  } {
    let unsubscribe = () => {};
    const promise = new Promise<StepEventOf<K>>((resolve) => {
      unsubscribe = this.subscribe((event) => {
        if (event.type === type && predicate(event as StepEventOf<K>)) {
          unsubscribe();
          resolve(event as StepEventOf<K>);
        }
      });
    });
    return { promise, cancel: () => unsubscribe() };
  }
}
