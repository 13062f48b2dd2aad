/** The benchmark's arithmetic: medians, per-round ratios, goals, the table. */
import { describe, expect, it } from 'vitest';
import { figure, renderTable } from '../../bench/figures.js';
import { summarize } from '../../bench/support.js';

describe('bench figures', () => {
  it('summarizes runs as median, min and max', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: [3, 1, 2] });
    expect(summarize([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, runs: [4, 1, 2, 3] });
    expect(() => summarize([])).toThrow('no runs to summarize');
  });

  it('takes the median of per-round ratios when both sides ran in the same rounds', () => {
    // Rounds: 10/5 = 2, 30/10 = 3, 8/8 = 1: median 2 (the ratio of the medians would be 10/8).
    const f = figure({
      id: 'x',
      figure: 'x',
      unit: 's',
      values: [10, 30, 8],
      reference: { name: 'ref', values: [5, 10, 8] },
      goal: { kind: 'ratio-at-most', limit: 1.5, text: 'within 1.5x' },
    });
    expect(f.ratio).toBe(2);
    expect(f.met).toBe(false);
  });

  it('falls back to the ratio of medians when the rounds differ', () => {
    const f = figure({
      id: 'x',
      figure: 'x',
      unit: 's',
      values: [4],
      reference: { name: 'ref', values: [8, 8, 10] },
      goal: { kind: 'ratio-at-most', limit: 0.5, text: '2x faster' },
    });
    expect(f.ratio).toBe(0.5);
    expect(f.met).toBe(true);
  });

  it('holds a value goal without a reference', () => {
    const f = figure({
      id: 'm',
      figure: 'memory',
      unit: 'MiB',
      values: [151],
      goal: { kind: 'value-at-most', limit: 150, text: '< 150 MiB' },
    });
    expect(f.ratio).toBeUndefined();
    expect(f.met).toBe(false);
  });

  it('renders one Markdown row per figure and per figure not measured', () => {
    const f = figure({
      id: 'x',
      figure: 'boot',
      unit: 's',
      values: [1.5, 2, 12.25],
      reference: { name: 'floor', values: [1, 1, 1] },
    });
    expect(renderTable([f], [{ figure: 'console', why: 'not measured on this branch' }])).toBe(
      [
        '| figure | pxe-hil | reference | ratio | goal | met? |',
        '| --- | --- | --- | --- | --- | --- |',
        '| boot | 2 s (1.50–12.3) | floor: 1 s (1–1) | 2.00x | — | — |',
        '| console | not measured on this branch | — | — | — | — |',
        '',
      ].join('\n'),
    );
  });
});
