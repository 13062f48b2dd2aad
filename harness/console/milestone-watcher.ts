/**
 * Follows a boot through its milestones, in order. Pure logic: it is fed
 * console text (already free of escape sequences) and harness events, and
 * says what was reached or what failed. Time-outs are the caller's.
 *
 * Console milestones are matched against the text since the previous
 * milestone, so a pattern split across reads still matches; failure patterns
 * are matched per line, so a line is judged once. The board mounting its NFS
 * root is remembered when it comes before its milestone is the current one
 * (the mount and the console line before it race through different pipes),
 * and passes that milestone as soon as it is.
 */
import { LinePrefilter } from './line-prefilter.js';
import type { FailurePattern, FileRole, MilestoneSpec } from '../core/boot.js';

export type WatchResult =
  | { kind: 'milestone'; milestone: MilestoneSpec; text: string }
  | { kind: 'failure'; pattern: FailurePattern; line: string };

/** Console text kept for a console milestone that has not matched yet. */
const MAX_PENDING = 16 * 1024;

export class MilestoneWatcher {
  private index = 0;
  private pending = '';
  private partialLine = '';
  private failed = false;
  private nfsMounted = false;
  private readonly prefilter: LinePrefilter;

  constructor(
    readonly milestones: readonly MilestoneSpec[],
    readonly failurePatterns: readonly FailurePattern[],
  ) {
    this.prefilter = new LinePrefilter(failurePatterns.map((p) => p.console));
  }

  get current(): MilestoneSpec | undefined {
    return this.failed ? undefined : this.milestones[this.index];
  }

  get done(): boolean {
    return this.failed || this.index >= this.milestones.length;
  }

  get reachedCount(): number {
    return this.index;
  }

  /** Feeds console text; returns what it completed, in order. Stops at the first failure. */
  feedConsole(text: string): WatchResult[] {
    if (this.done || text.length === 0) return [];
    const results: WatchResult[] = [];

    const failure = this.scanFailures(text);
    // A milestone on the same text as a failure still counts if it came first in the stream;
    // lines are judged whole, so check milestones only on text up to the failing line.
    this.pending += failure ? text.slice(0, failure.endsAt) : text;
    results.push(...this.advanceOnConsole());
    if (failure && !this.done) {
      this.failed = true;
      results.push({ kind: 'failure', pattern: failure.pattern, line: failure.line });
    }
    if (!this.done) this.trimPending();
    return results;
  }

  feedLease(): WatchResult[] {
    return this.advanceOnEvent((m) => 'event' in m && m.event === 'lease');
  }

  /** The board mounted its root from the job's NFS server. */
  feedNfsMount(): WatchResult[] {
    this.nfsMounted = true;
    return this.advanceOnEvent(isNfsMount);
  }

  feedFileServed(role: FileRole): WatchResult[] {
    return this.advanceOnEvent((m) => 'file' in m && m.file === role);
  }

  /** The board's SSH server answered (its banner read), for a milestone `{ ssh: port }`. */
  feedSshAnswered(): WatchResult[] {
    return this.advanceOnEvent((m) => 'ssh' in m);
  }

  private advanceOnEvent(matches: (m: MilestoneSpec) => boolean): WatchResult[] {
    const current = this.current;
    if (!current || !matches(current)) return [];
    this.index++;
    this.pending = '';
    return [{ kind: 'milestone', milestone: current, text: '' }, ...this.advanceOnConsole()];
  }

  /** Passes console milestones the pending text matches, and an NFS-mount milestone whose mount came already. */
  private advanceOnConsole(): WatchResult[] {
    const results: WatchResult[] = [];
    for (let m = this.current; m; m = this.current) {
      if (isNfsMount(m) && this.nfsMounted) {
        // The mount came before the text still pending, which is kept for the milestones after it.
        this.index++;
        results.push({ kind: 'milestone', milestone: m, text: '' });
        continue;
      }
      if (!('console' in m)) break;
      const match = m.console.exec(this.pending);
      if (!match) break;
      this.index++;
      this.pending = this.pending.slice(match.index + match[0].length);
      results.push({ kind: 'milestone', milestone: m, text: match[0] });
    }
    return results;
  }

  private scanFailures(text: string): { pattern: FailurePattern; line: string; endsAt: number } | undefined {
    const combined = this.partialLine + text;
    let lineStart = 0;
    // Most text matches no failure pattern: one pass over the whole lines says so, without a pass per pattern per line.
    const lastNewline = combined.lastIndexOf('\n');
    if (lastNewline !== -1 && !this.prefilter.mayMatch(combined.slice(0, lastNewline))) lineStart = lastNewline + 1;
    for (;;) {
      const newline = combined.indexOf('\n', lineStart);
      if (newline === -1) break;
      const line = combined.slice(lineStart, newline);
      for (const pattern of this.failurePatterns) {
        const match = pattern.console.exec(line);
        if (match) {
          const endsAt = Math.max(0, newline + 1 - this.partialLine.length);
          this.partialLine = '';
          return { pattern, line: withoutKernelTimestamp(line), endsAt };
        }
      }
      lineStart = newline + 1;
    }
    this.partialLine = combined.slice(lineStart);
    if (this.partialLine.length > MAX_PENDING) this.partialLine = this.partialLine.slice(-MAX_PENDING);
    return undefined;
  }

  private trimPending(): void {
    if (this.pending.length <= MAX_PENDING) return;
    const cut = this.pending.indexOf('\n', this.pending.length - MAX_PENDING);
    this.pending = this.pending.slice(cut === -1 ? this.pending.length - MAX_PENDING : cut + 1);
  }
}

function isNfsMount(m: MilestoneSpec): boolean {
  return 'event' in m && m.event === 'nfs-mount';
}

/** '[    2.140561] Kernel panic - ...' reads 'Kernel panic - ...'. */
function withoutKernelTimestamp(line: string): string {
  return line.replace(/^\s*\[\s*\d+\.\d+\]\s*/, '').trim();
}
