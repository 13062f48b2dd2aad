import { execaSync } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StepEvent } from '../../harness/core/events.js';
import { NOTE_CHAR_WIDTH, placeNote, renderTimeline, timelineRows } from '../../harness/report/timeline.js';

const at = '2026-01-01T00:00:00.000Z';
const events: StepEvent[] = [
  { type: 'power', action: 'cycle', driver: 'qemu', ok: true, durationMs: 100, t: 600, at },
  { type: 'dhcp', message: 'DHCPDISCOVER', mac: '52:54:00:00:00:01', t: 2600, at },
  { type: 'lease', mac: '52:54:00:00:00:01', ip: '10.42.0.10', t: 2700, at },
  { type: 'milestone', name: 'DHCP lease', durationMs: 2100, t: 2700, at },
  { type: 'file-requested', protocol: 'tftp', path: 'vmlinuz', client: '10.42.0.10:1', t: 3000, at },
  {
    type: 'file-served',
    protocol: 'tftp',
    path: 'vmlinuz',
    role: 'kernel',
    client: '10.42.0.10:1',
    bytes: 14_000_000,
    durationMs: 5000,
    t: 8000,
    at,
  },
  {
    type: 'failure-pattern',
    name: 'kernel panic',
    line: 'Kernel panic - not syncing: <VFS> & more',
    lastLines: [],
    t: 9000,
    at,
  },
];

describe('boot timeline', () => {
  it('turns events into rows from start to end', () => {
    expect(timelineRows(events)).toEqual([
      { label: 'power cycle', start: 500, end: 600, kind: 'power', note: 'done' },
      { label: 'DHCP 10.42.0.10', start: 2600, end: 2700, kind: 'dhcp' },
      { label: 'DHCP lease', start: 600, end: 2700, kind: 'milestone' },
      { label: 'tftp vmlinuz', start: 3000, end: 8000, kind: 'file', note: '14.0 MB' },
      {
        label: 'kernel panic',
        start: 2700,
        end: 9000,
        kind: 'failure',
        note: 'Kernel panic - not syncing: <VFS> & more',
      },
    ]);
  });

  it('renders well-formed SVG with text escaped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'timeline-'));
    try {
      const svg = renderTimeline(events, 'board <1> & co');
      writeFileSync(join(dir, 't.svg'), svg);
      const lint = execaSync('xmllint', ['--noout', join(dir, 't.svg')], { reject: false });
      expect(lint.stderr).toBe('');
      expect(svg).toContain('board &lt;1&gt; &amp; co');
      expect(svg).toContain('>tftp vmlinuz</text>');
      expect(svg).toContain('5.00 s, 14.0 MB');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('notes beside the bars', () => {
  const x = (t: number) => 230 + t * (720 / 10_000);
  const row = (start: number, end: number, note?: string) => ({
    label: 'x',
    start,
    end,
    kind: 'failure' as const,
    note,
  });

  it('puts a note right of its bar when it fits, else left of it, never past the picture', () => {
    expect(placeNote(row(0, 1000, 'short'), x, 970)).toMatchObject({ anchor: 'start', text: '1.00 s, short' });
    const late = placeNote(row(9000, 10_000, 'Kernel panic - not syncing: VFS: Unable to mount root fs'), x, 970);
    expect(late.anchor).toBe('end');
    expect(late.right).toBeLessThanOrEqual(970);
    expect(late.left).toBeGreaterThanOrEqual(230);
  });

  it('widens the picture for a note that fits on neither side, so no label is cut off', () => {
    const long = 'x'.repeat(200);
    const svg = renderTimeline(
      [{ type: 'failure-pattern', name: 'oops', line: long, lastLines: [], t: 60_000, at }],
      'wide',
    );
    const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)?.[1]);
    const note = /<text x="([\d.]+)" y="[\d.]+" font-size="11" fill="#555" text-anchor="start">([^<]*)</.exec(svg);
    expect(note).not.toBeNull();
    expect(Number(note![1]) + note![2]!.length * NOTE_CHAR_WIDTH).toBeLessThanOrEqual(width);
  });

  it('keeps every note of a real boot inside the picture', () => {
    const svg = renderTimeline(events, 'board').replace(/&(lt|gt|amp|quot);/g, '_');
    const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)?.[1]);
    for (const m of svg.matchAll(
      /<text x="([\d.]+)" y="[\d.]+" font-size="11" fill="#555" text-anchor="(start|end)">([^<]*)</g,
    )) {
      const [left, right] =
        m[2] === 'start'
          ? [Number(m[1]), Number(m[1]) + m[3]!.length * NOTE_CHAR_WIDTH]
          : [Number(m[1]) - m[3]!.length * NOTE_CHAR_WIDTH, Number(m[1])];
      expect(left).toBeGreaterThanOrEqual(0);
      expect(right).toBeLessThanOrEqual(width);
    }
  });
});
