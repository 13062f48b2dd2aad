import { describe, expect, it } from 'vitest';
import { LinePrefilter } from '../../harness/console/line-prefilter.js';
import { MilestoneWatcher } from '../../harness/console/milestone-watcher.js';
import type { FailurePattern } from '../../harness/core/boot.js';
import { defaultFailurePatterns, ubootFailurePatterns } from '../../harness/images/boot-patterns.js';

const patterns = [...defaultFailurePatterns, ...ubootFailurePatterns].map((p) => p.console);

describe('LinePrefilter', () => {
  it('says no for lines no pattern matches, and yes as soon as one line matches', () => {
    const filter = new LinePrefilter(patterns);
    const quiet = '[    0.000000] Linux version 6.1.0\n[    0.1] pci 0000:00:1f.0: [8086:2918]\nDRAM:  1 GiB';
    expect(filter.mayMatch(quiet)).toBe(false);
    expect(filter.mayMatch(`${quiet}\n[    2.1] Kernel panic - not syncing: VFS`)).toBe(true);
    expect(filter.mayMatch(`"Synchronous Abort" handler, esr 0x96000004\n${quiet}`)).toBe(true);
    expect(filter.mayMatch('x data abort\nnext line')).toBe(true); // $ is still a line's end
  });

  it("keeps each pattern's flags and anchors", () => {
    const filter = new LinePrefilter([/^error:/i, /panic$/]);
    expect(filter.mayMatch('ok\nERROR: disk\nok')).toBe(true);
    expect(filter.mayMatch('ok\nthe error: is here\nok')).toBe(false);
    expect(filter.mayMatch('ok\nno panic here\nok')).toBe(false);
    expect(filter.mayMatch('ok\nsudden panic\nok')).toBe(true);
  });

  it('switches itself off for patterns it cannot join safely', () => {
    expect(new LinePrefilter([/foo(?!bar)/]).mayMatch('nothing')).toBe(true);
    expect(new LinePrefilter([/(a)\1/]).mayMatch('nothing')).toBe(true);
    expect(new LinePrefilter([/(?<word>x)/, /(?<word>y)/]).mayMatch('nothing')).toBe(true);
  });

  it("leaves the watcher's results the same, at every read size", () => {
    const extra: FailurePattern[] = [
      { name: 'anchored', console: /^FATAL: .*/ },
      { name: 'case', console: /watchdog timeout/i },
    ];
    const failures = [...defaultFailurePatterns, ...extra];
    const text = [
      'Linux version 6.1.0-28-amd64',
      'a line with FATAL: not at the start',
      'Run /init as init process',
      '[   5.1] WATCHDOG TIMEOUT on cpu 0',
      'after',
      '',
    ].join('\n');
    for (const size of [1, 3, 17, text.length]) {
      const watcher = new MilestoneWatcher(
        [
          { name: 'banner', console: /Linux version \S+/, timeoutS: 1 },
          { name: 'init', console: /Run \S+ as init process/, timeoutS: 1 },
          { name: 'never', console: /never/, timeoutS: 1 },
        ],
        failures,
      );
      const results = [];
      for (let at = 0; at < text.length; at += size) results.push(...watcher.feedConsole(text.slice(at, at + size)));
      expect(
        results.map((r) => (r.kind === 'milestone' ? r.milestone.name : `${r.pattern.name}: ${r.line}`)),
        `reads of ${size}`,
      ).toEqual(['banner', 'init', 'case: WATCHDOG TIMEOUT on cpu 0']);
    }
  });
});
