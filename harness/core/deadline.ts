/**
 * One small deadline helper for every time-out in the harness: a point in
 * time, what is being waited for, and ways to wait against it.
 */
export class TimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what}`);
    this.name = 'TimeoutError';
  }
}

export class Deadline {
  readonly expiresAt: number;

  constructor(
    readonly timeoutMs: number,
    readonly what: string,
    readonly startedAt: number = performance.now(),
  ) {
    this.expiresAt = startedAt + timeoutMs;
  }

  static in(ms: number, what: string): Deadline {
    return new Deadline(ms, what);
  }

  remainingMs(): number {
    return Math.max(0, this.expiresAt - performance.now());
  }

  expired(): boolean {
    return performance.now() >= this.expiresAt;
  }

  error(): TimeoutError {
    return new TimeoutError(this.what, this.timeoutMs);
  }

  /** Settles with `promise`, or rejects with a TimeoutError when the deadline passes (or `signal` aborts). */
  async race<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const expiry = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.error()), this.remainingMs());
      if (signal) {
        onAbort = () => reject(signal.reason ?? new Error('aborted'));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([promise, expiry]);
    } finally {
      clearTimeout(timer);
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /** Calls `callback` when the deadline passes; returns the cancel. */
  onExpiry(callback: (error: TimeoutError) => void): () => void {
    const timer = setTimeout(() => callback(this.error()), this.remainingMs());
    return () => clearTimeout(timer);
  }

  /** Polls `check` until it returns a value other than undefined, or the deadline passes. */
  async poll<T>(check: () => Promise<T | undefined> | T | undefined, intervalMs = 50): Promise<T> {
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (this.expired()) throw this.error();
      await sleep(Math.min(intervalMs, this.remainingMs()));
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
