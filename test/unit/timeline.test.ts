import { execaSync } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StepEvent } from '../../harness/core/events.js';
import { renderTimeline, timelineRows } from '../../harness/report/timeline.js';

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
