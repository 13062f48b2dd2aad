/**
 * Expect-style dialogue with a target's console, on top of the job's single
 * reader (ConsoleHub): wait for text, send keys, wait again.
 *
 * Each `expect` matches only the text that arrived after the previous match
 * (or after this object was made), so one prompt is never answered twice;
 * text that arrives while nobody is waiting is kept for the next `expect`,
 * so `send(...)` followed by `expect(...)` cannot miss a fast answer. A
 * pattern split across reads matches. A time-out is a TargetFailure that
 * names the pattern and carries the last console lines.
 */
import { Deadline, TimeoutError } from '../core/deadline.js';
import { TargetFailure } from '../core/errors.js';
import type { ConsoleHub } from './console-hub.js';

export type ExpectPattern = RegExp | string;

export type ExpectMatch = {
  /** The text the pattern matched. */
  match: string;
  /** The text between the previous match (or the start) and this one. */
  before: string;
  /** Capture groups of a RegExp pattern (empty for a string pattern). */
  groups: (string | undefined)[];
};

export type ExpectOptions = { timeoutMs?: number; signal?: AbortSignal };

/** The console text an expect needs: the hub, or anything with the same three calls. */
export type ExpectConsole = Pick<ConsoleHub, 'subscribe' | 'write' | 'lastLines'>;

export class ExpectTimeout extends TargetFailure {
  constructor(
    readonly pattern: string,
    readonly timeoutMs: number,
    readonly lastLines: string[],
    cause?: unknown,
  ) {
    super(
      `console did not show ${pattern} within ${(timeoutMs / 1000).toFixed(1)} s; last lines: ${lastLines.length ? lastLines.map((l) => JSON.stringify(l)).join(' | ') : '(nothing read)'}`,
      { cause },
    );
  }
}

/** Text kept while no pattern matches it: the newest part of it, this many characters. */
const MAX_BUFFER = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

export class ConsoleExpect {
  private buffer = '';
  private waiter: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly console: ExpectConsole,
    readonly options: { lineEnding?: string; defaultTimeoutMs?: number } = {},
  ) {
    this.unsubscribe = console.subscribe((text) => {
      this.buffer += text;
      if (this.buffer.length > MAX_BUFFER) this.buffer = this.buffer.slice(-MAX_BUFFER);
      this.waiter?.();
    });
  }

  /** Waits until `pattern` shows in the text since the previous match. */
  async expect(pattern: ExpectPattern, options: ExpectOptions = {}): Promise<ExpectMatch> {
    if (this.closed) throw new Error('ConsoleExpect is closed');
    if (this.waiter) throw new Error('ConsoleExpect: one expect at a time; await the previous one first');
    const matcher = compile(pattern);
    const found = this.take(matcher);
    if (found) return found;

    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadline = Deadline.in(timeoutMs, `console text ${describePattern(pattern)}`);
    const matched = new Promise<ExpectMatch>((resolve) => {
      this.waiter = () => {
        const result = this.take(matcher);
        if (result) {
          this.waiter = undefined;
          resolve(result);
        }
      };
    });
    try {
      return await deadline.race(matched, options.signal);
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      throw new ExpectTimeout(describePattern(pattern), timeoutMs, this.console.lastLines(10), error);
    } finally {
      this.waiter = undefined;
    }
  }

  /** Sends bytes to the target as they are. */
  send(data: Buffer | string): void {
    this.console.write(data);
  }

  /** Sends a line and the Enter key (a carriage return, as a terminal sends it, unless set otherwise). */
  sendLine(line: string): void {
    this.console.write(line + (this.options.lineEnding ?? '\r'));
  }

  /** Drops the text read so far, so that the next expect sees only what comes after now. */
  discard(): string {
    const text = this.buffer;
    this.buffer = '';
    return text;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
  }

  private take(
    matcher: (text: string) => { index: number; match: string; groups: (string | undefined)[] } | undefined,
  ): ExpectMatch | undefined {
    const found = matcher(this.buffer);
    if (!found) return undefined;
    const before = this.buffer.slice(0, found.index);
    this.buffer = this.buffer.slice(found.index + found.match.length);
    return { match: found.match, before, groups: found.groups };
  }
}

/** `await expect(hub, /login:/, { timeoutMs })` for one-off waits: matches text that arrives from now on. */
export async function expectOn(
  console: ExpectConsole,
  pattern: ExpectPattern,
  options: ExpectOptions = {},
): Promise<ExpectMatch> {
  const session = new ConsoleExpect(console);
  try {
    return await session.expect(pattern, options);
  } finally {
    session.close();
  }
}

export function describePattern(pattern: ExpectPattern): string {
  return typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern);
}

function compile(
  pattern: ExpectPattern,
): (text: string) => { index: number; match: string; groups: (string | undefined)[] } | undefined {
  if (typeof pattern === 'string') {
    if (pattern.length === 0) throw new Error('expect: empty pattern');
    return (text) => {
      const index = text.indexOf(pattern);
      return index === -1 ? undefined : { index, match: pattern, groups: [] };
    };
  }
  // A global or sticky RegExp keeps state between calls; match with a stateless copy.
  const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return (text) => {
    const m = regex.exec(text);
    if (!m) return undefined;
    // An empty match would match forever without consuming anything.
    if (m[0].length === 0 && text.length === 0) return undefined;
    return { index: m.index, match: m[0], groups: m.slice(1) };
  };
}
