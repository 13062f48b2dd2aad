/**
 * A quick "can any of these patterns match any of these lines?" for many
 * per-line patterns at once: the patterns are joined into one alternation
 * per set of flags and run once over a block of whole lines, with `m` so
 * that ^ and $ still mean a line's start and end. It may say yes when no
 * single line matches (the caller then checks line by line), never no when
 * one does. Patterns for which that could fail (negative lookaround,
 * back-references, named groups) switch the filter off.
 */
export class LinePrefilter {
  private readonly combined: RegExp[] = [];
  private readonly enabled: boolean;

  constructor(patterns: readonly RegExp[]) {
    const unsafe = patterns.some((p) => /\(\?<?!|\\[1-9]|\\k<|\(\?<[A-Za-z]/.test(p.source));
    let enabled = !unsafe;
    if (enabled) {
      const byFlags = new Map<string, string[]>();
      for (const p of patterns) {
        const flags = [...new Set(`${p.flags.replace(/[gyd]/g, '')}m`)].sort().join('');
        byFlags.set(flags, [...(byFlags.get(flags) ?? []), `(?:${p.source})`]);
      }
      try {
        for (const [flags, sources] of byFlags) this.combined.push(new RegExp(sources.join('|'), flags));
      } catch {
        enabled = false;
      }
    }
    this.enabled = enabled;
  }

  /** False only when no pattern matches any line of `block` (whole lines, joined by newlines). */
  mayMatch(block: string): boolean {
    if (!this.enabled) return true;
    return this.combined.some((regex) => regex.test(block));
  }
}
