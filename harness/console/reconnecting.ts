/**
 * What every console that can lose its far end shares (a USB serial adapter
 * that re-enumerates, a console server that restarts): the first connection
 * must work, or open() fails with the reason; after that a lost link is
 * reported to the sink as 'disconnected' and retried with backoff (or at
 * once, when the source sees its far end come back) until the console is
 * closed, then reported as 'connected' again. Writes made while
 * the link is down are kept (up to a bound) and sent once it is back.
 */
import { sleep } from '../core/deadline.js';
import type { ConsoleSink, ConsoleSource } from './console.js';

/** One live link to the far end. */
export type ConsoleLink = {
  write(data: Buffer): void;
  /** Closes the link on purpose; onLost is not called for it. */
  close(): Promise<void>;
  /** Sends a serial break, where the link can. */
  sendBreak?(): Promise<void>;
};

export type LinkHandlers = {
  data(chunk: Buffer): void;
  /** The link went away by itself; `reason` says how. */
  lost(reason: string): void;
};

export type Backoff = { firstMs: number; maxMs: number };

export const DEFAULT_BACKOFF: Backoff = { firstMs: 100, maxMs: 2000 };

/** Writes kept while the link is down; older bytes are dropped beyond this. */
const MAX_PENDING_WRITES = 64 * 1024;

export abstract class ReconnectingConsole implements ConsoleSource {
  abstract readonly endpoint: string;
  private link: ConsoleLink | undefined;
  private sink: ConsoleSink | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly stopping = new AbortController();
  private retrying: Promise<void> | undefined;
  private generation = 0;

  constructor(readonly backoff: Backoff = DEFAULT_BACKOFF) {}

  /** Makes one link; throws a LabFault (or an Error) saying why it could not. */
  protected abstract connect(handlers: LinkHandlers): Promise<ConsoleLink>;

  /** A short description of a link that came up, for the sink's 'connected' state. */
  protected abstract describeLink(): string;

  /**
   * While the link is down, calls `wake` when the far end may be back (a device node appeared), so that
   * the next attempt comes at once instead of after the backoff. Returns how to stop watching.
   */
  protected watchForReturn(_wake: () => void): () => void {
    return () => {};
  }

  get connected(): boolean {
    return this.link !== undefined;
  }

  async open(sink: ConsoleSink): Promise<void> {
    this.sink = sink;
    this.link = await this.connect(this.handlersFor(++this.generation));
    sink.state('connected', this.describeLink());
  }

  write(data: Buffer | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.link) {
      this.link.write(bytes);
      return;
    }
    if (this.stopping.signal.aborted) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    while (this.pendingBytes > MAX_PENDING_WRITES && this.pending.length > 1)
      this.pendingBytes -= this.pending.shift()!.length;
  }

  /** Sends a break when the link supports it; says whether it did. */
  async sendBreak(): Promise<boolean> {
    if (!this.link?.sendBreak) return false;
    await this.link.sendBreak();
    return true;
  }

  async close(): Promise<void> {
    this.stopping.abort(new Error('console closed'));
    const link = this.link;
    this.link = undefined;
    this.generation++;
    await link?.close();
    await this.retrying;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private handlersFor(generation: number): LinkHandlers {
    return {
      data: (chunk) => {
        if (generation === this.generation) this.sink?.data(chunk);
      },
      lost: (reason) => {
        if (generation !== this.generation || this.stopping.signal.aborted) return;
        this.link = undefined;
        this.generation++;
        this.sink?.state('disconnected', reason);
        this.retrying = this.reconnect();
      },
    };
  }

  private async reconnect(): Promise<void> {
    const signal = this.stopping.signal;
    let delay = this.backoff.firstMs;
    let attempts = 0;
    let lastError = '';
    let wake = new AbortController();
    const stopWatching = this.watchForReturn(() => wake.abort());
    try {
      while (!signal.aborted) {
        try {
          await sleep(delay, AbortSignal.any([signal, wake.signal]));
        } catch {
          if (signal.aborted) return;
        }
        wake = new AbortController();
        attempts++;
        const generation = this.generation;
        try {
          const link = await this.connect(this.handlersFor(generation));
          if (signal.aborted || generation !== this.generation) {
            await link.close();
            return;
          }
          this.link = link;
          this.sink?.state(
            'connected',
            `${this.describeLink()} (again, after ${attempts} attempt${attempts === 1 ? '' : 's'}${lastError ? `; last error: ${lastError}` : ''})`,
          );
          this.flushPending(link);
          return;
        } catch (error) {
          lastError = error instanceof Error ? error.message : String(error);
        }
        delay = Math.min(delay * 2, this.backoff.maxMs);
      }
    } finally {
      stopWatching();
    }
  }

  private flushPending(link: ConsoleLink): void {
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const bytes of pending) link.write(bytes);
  }
}
