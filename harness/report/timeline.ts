/**
 * The boot timeline: one SVG picture with the run's steps on a time axis:
 * power actions, DHCP, each file served (a bar from request to last byte),
 * the job's NFS server (its start, the board's mounts, refused clients) and
 * each milestone, and the board's states (off, bootloader, kernel, shell,
 * suites) as bars, so a slow lease or a slow TFTP transfer shows at a glance.
 * Pure: events in, SVG text out.
 */
import type { StepEvent } from '../core/events.js';
import { powerOutcomeText } from './terminal.js';
import { redact, redactValue } from '../core/redact.js';
import { xmlEscape } from './xml.js';

export type Row = {
  label: string;
  start: number;
  end: number;
  kind: 'power' | 'dhcp' | 'file' | 'nfs' | 'milestone' | 'failure' | 'state';
  note?: string;
};

const COLORS: Record<Row['kind'], string> = {
  power: '#7b61ff',
  dhcp: '#f0a202',
  file: '#2a9d8f',
  nfs: '#457b9d',
  milestone: '#264653',
  failure: '#d62828',
  state: '#8d99ae',
};

export function timelineRows(events: readonly StepEvent[]): Row[] {
  const rows: Row[] = [];
  const requested = new Map<string, number>();
  let firstDiscover: number | undefined;
  let previousMilestone = 0;
  let state: { name: string; since: number; reason: string } | undefined;
  for (const e of events) {
    switch (e.type) {
      case 'boot-state':
        // A state's bar ends where the next begins; 'off' and 'unknown' get none.
        if (state)
          rows.push({ label: `state: ${state.name}`, start: state.since, end: e.t, kind: 'state', note: state.reason });
        state = e.to === 'off' || e.to === 'unknown' ? undefined : { name: e.to, since: e.t, reason: e.reason };
        break;
      case 'power':
        rows.push({
          label: `power ${e.action}`,
          start: e.t - e.durationMs,
          end: e.t,
          kind: 'power',
          note: powerOutcomeText(e),
        });
        previousMilestone = Math.max(previousMilestone, e.t);
        break;
      case 'dhcp':
        if (e.message === 'DHCPDISCOVER' && firstDiscover === undefined) firstDiscover = e.t;
        break;
      case 'lease':
        rows.push({ label: `DHCP ${e.ip}`, start: firstDiscover ?? e.t, end: e.t, kind: 'dhcp' });
        firstDiscover = undefined;
        break;
      case 'file-requested':
        requested.set(`${e.protocol}:${e.path}:${e.client}`, e.t);
        break;
      case 'file-served': {
        const key = `${e.protocol}:${e.path}:${e.client}`;
        const start = requested.get(key) ?? e.t - e.durationMs;
        requested.delete(key);
        rows.push({
          label: `${e.protocol} ${e.path.replace(/^\//, '')}`,
          start,
          end: e.t,
          kind: 'file',
          note: formatBytes(e.bytes),
        });
        break;
      }
      case 'nfs': {
        const row = nfsRow(e);
        if (row) rows.push(row);
        break;
      }
      case 'milestone':
        rows.push({ label: e.name, start: e.t - e.durationMs, end: e.t, kind: 'milestone' });
        previousMilestone = e.t;
        break;
      case 'milestone-timeout':
        rows.push({ label: `${e.name} (timed out)`, start: e.t - e.timeoutMs, end: e.t, kind: 'failure' });
        break;
      case 'failure-pattern':
        rows.push({ label: e.name, start: previousMilestone, end: e.t, kind: 'failure', note: e.line.slice(0, 60) });
        break;
      default:
        break;
    }
  }
  return rows;
}

/** The NFS server's start (a bar), the board's mounts and refused clients (marks); nothing for its stop. */
function nfsRow(e: Extract<StepEvent, { type: 'nfs' }>): Row | undefined {
  const version = e.version ? `NFSv${e.version}` : undefined;
  switch (e.state) {
    case 'up':
      return { label: 'NFS server up', start: e.t - (e.durationMs ?? 0), end: e.t, kind: 'nfs', note: e.path };
    case 'mount':
    case 'unmount':
      return { label: `NFS ${e.state} ${e.path}`, start: e.t, end: e.t, kind: 'nfs', note: version };
    case 'refused':
      return { label: `NFS refused ${e.client}`, start: e.t, end: e.t, kind: 'failure', note: version };
    default:
      return undefined;
  }
}

export function renderTimeline(events: readonly StepEvent[], heading: string): string {
  // Registered secrets are masked before any text is placed (and escaped) in the picture.
  const rows = redactValue(timelineRows(events));
  const title = redact(heading);
  const labelWidth = 230;
  const chartWidth = 720;
  const rowHeight = 22;
  const top = 46;
  const end = Math.max(1000, ...rows.map((r) => r.end));
  const scale = chartWidth / end;
  const height = top + rows.length * rowHeight + 40;
  const x = (t: number) => labelWidth + Math.max(0, t) * scale;
  const step = niceStep(end / 10);
  const ticks: string[] = [];
  for (let t = 0; t <= end; t += step) {
    ticks.push(
      `<line x1="${x(t).toFixed(1)}" y1="${top - 6}" x2="${x(t).toFixed(1)}" y2="${height - 30}" stroke="#ddd"/>`,
      `<text x="${x(t).toFixed(1)}" y="${height - 14}" font-size="11" text-anchor="middle">${(t / 1000).toFixed(t % 1000 ? 1 : 0)} s</text>`,
    );
  }
  const notes = rows.map((row) => placeNote(row, x, labelWidth + chartWidth + 20));
  const width = Math.ceil(Math.max(labelWidth + chartWidth + 20, ...notes.map((n) => n.right + 10)));
  const bars = rows.map((row, i) => {
    const y = top + i * rowHeight;
    const barWidth = Math.max(2, (row.end - row.start) * scale);
    const seconds = ((row.end - row.start) / 1000).toFixed(2);
    const note = notes[i]!;
    return [
      `<text x="${labelWidth - 8}" y="${y + 14}" font-size="12" text-anchor="end">${xmlEscape(row.label)}</text>`,
      `<rect x="${x(row.start).toFixed(1)}" y="${y + 3}" width="${barWidth.toFixed(1)}" height="${rowHeight - 8}" rx="3" fill="${COLORS[row.kind]}"><title>${xmlEscape(row.label)}: ${seconds} s${row.note ? `, ${xmlEscape(row.note)}` : ''}</title></rect>`,
      `<text x="${note.x.toFixed(1)}" y="${y + 14}" font-size="${NOTE_FONT}" fill="#555" text-anchor="${note.anchor}">${xmlEscape(note.text)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="24" font-size="15" font-weight="bold">${xmlEscape(title)}</text>`,
    ...ticks,
    ...bars,
    '</svg>',
    '',
  ].join('\n');
}

const NOTE_FONT = 11;
/** A generous width of one character of the note's font: wider than most sans-serif glyphs at 11 px. */
export const NOTE_CHAR_WIDTH = 6.6;

export type PlacedNote = { text: string; x: number; anchor: 'start' | 'end'; left: number; right: number };

/**
 * Where a bar's note (its time, and what it was) goes: right of the bar when
 * it fits in the picture, else left of the bar; if neither fits, right of the
 * bar, and the picture grows to hold it. Nothing is cut at the picture's edge.
 */
export function placeNote(row: Row, x: (t: number) => number, chartRight: number): PlacedNote {
  const text = `${((row.end - row.start) / 1000).toFixed(2)} s${row.note ? `, ${row.note}` : ''}`;
  const textWidth = text.length * NOTE_CHAR_WIDTH;
  const after = x(row.start) + Math.max(2, x(row.end) - x(row.start)) + 4;
  if (after + textWidth <= chartRight)
    return { text, x: after, anchor: 'start', left: after, right: after + textWidth };
  const before = x(row.start) - 4;
  if (before - textWidth >= x(0)) return { text, x: before, anchor: 'end', left: before - textWidth, right: before };
  return { text, x: after, anchor: 'start', left: after, right: after + textWidth };
}

function niceStep(raw: number): number {
  const steps = [100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000];
  return steps.find((s) => s >= raw) ?? 600_000;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}
