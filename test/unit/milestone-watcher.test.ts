import { describe, expect, it } from 'vitest';
import { MilestoneWatcher } from '../../harness/console/milestone-watcher.js';
import type { MilestoneSpec } from '../../harness/core/boot.js';
import { defaultFailurePatterns } from '../../harness/images/boot-patterns.js';

const milestones: MilestoneSpec[] = [
  { name: 'lease', event: 'lease', timeoutS: 10 },
  { name: 'kernel', file: 'kernel', timeoutS: 10 },
  { name: 'banner', console: /Linux version \S+/, timeoutS: 10 },
  { name: 'init', console: /Run \S+ as init process/, timeoutS: 10 },
  { name: 'prompt', console: /hil-small# /, timeoutS: 10 },
];

const names = (results: { kind: string; milestone?: { name: string } }[]) =>
  results.map((r) => r.milestone?.name ?? r.kind);

describe('MilestoneWatcher', () => {
  it('passes milestones in order, from events and console text', () => {
    const w = new MilestoneWatcher(milestones, defaultFailurePatterns);
    expect(w.feedConsole('[ 0.0] Linux version 6.1\n')).toEqual([]); // not yet: the lease comes first
    expect(names(w.feedFileServed('kernel'))).toEqual([]);
    expect(names(w.feedLease())).toEqual(['lease']);
    expect(names(w.feedFileServed('kernel'))).toEqual(['kernel']);
    expect(names(w.feedConsole('Linux version 6.1.0-56 (gcc)\nRun /init as init process\nhil-small# '))).toEqual([
      'banner',
      'init',
      'prompt',
    ]);
    expect(w.done).toBe(true);
  });

  it('matches a console milestone split across any two reads', () => {
    const text = 'noise\n[    1.234] Run /init as init process\n';
    for (let cut = 1; cut < text.length; cut++) {
      const w = new MilestoneWatcher([{ name: 'init', console: /Run \S+ as init process/, timeoutS: 1 }], []);
      const results = [...w.feedConsole(text.slice(0, cut)), ...w.feedConsole(text.slice(cut))];
      expect(names(results), `cut at ${cut}`).toEqual(['init']);
    }
  });

  it('stops at a failure pattern and names it, also when split across reads', () => {
    const w = new MilestoneWatcher(milestones.slice(2), defaultFailurePatterns);
    expect(names(w.feedConsole('Linux version 6.1 x\n[ 2.0] Kernel pa'))).toEqual(['banner']);
    const results = w.feedConsole('nic - not syncing: VFS: Unable to mount root fs\n');
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ kind: 'failure', pattern: { name: 'kernel panic' } });
    expect(results[0]!.kind === 'failure' && results[0]!.line).toContain('VFS: Unable to mount root fs');
    expect(w.done).toBe(true);
    expect(w.feedConsole('Run /init as init process\n')).toEqual([]);
  });

  it('counts a milestone that came before the failure in the same read', () => {
    const w = new MilestoneWatcher(milestones.slice(2), defaultFailurePatterns);
    const results = w.feedConsole(
      'Linux version 6.1 x\nBUG: kernel NULL pointer dereference\nRun /init as init process\n',
    );
    expect(names(results)).toEqual(['banner', 'failure']);
  });

  it('does not match text that was consumed by an earlier milestone', () => {
    const w = new MilestoneWatcher(
      [
        { name: 'first prompt', console: /# /, timeoutS: 1 },
        { name: 'second prompt', console: /# /, timeoutS: 1 },
      ],
      [],
    );
    expect(names(w.feedConsole('a # b'))).toEqual(['first prompt']);
    expect(names(w.feedConsole(' c # '))).toEqual(['second prompt']);
  });

  it('keeps memory bounded on a flood without newlines', () => {
    const w = new MilestoneWatcher([{ name: 'never', console: /never-printed/, timeoutS: 1 }], defaultFailurePatterns);
    for (let i = 0; i < 200; i++) w.feedConsole('x'.repeat(10_000));
    expect(w.done).toBe(false);
    expect(names(w.feedConsole('never-printed'))).toEqual(['never']);
  });
});
