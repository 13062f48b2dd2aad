/**
 * The figure tables in docs/ are written by the bench commands, never by
 * hand: each command renders its table from its JSON results and puts it in
 * its page between two marker comments, `<!-- bench:NAME:start -->` and
 * `<!-- bench:NAME:end -->`, with a line under it saying when, on what
 * machine and with which command the figures were measured. Everything
 * outside the markers is left as it was.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { relative, resolve } from 'node:path';

/** The repository's root: pages are named relative to it. */
const ROOT = new URL('../', import.meta.url).pathname;

/** What every bench's JSON results say about the run itself. */
export type Measured = {
  /** ISO 8601, UTC. */
  date: string;
  /** The command line that measured the figures, e.g. `npm run bench -- --runs 3`. */
  command: string;
  machine: { nproc: number; cpu: string };
  /** One-minute load averages at the start and the end: other work on the same cores skews the figures. */
  loadAverage?: { start: number; end: number };
  /** What the booted or served files were made from (package and version). */
  provenance?: string;
};

/** This machine: its number of cores and its CPU model. */
export function machineFacts(): Measured['machine'] {
  return { nproc: cpus().length, cpu: cpus()[0]?.model.trim() || 'unknown' };
}

/** The one-minute load average now. */
export function loadNow(): number {
  return loadavg()[0] ?? 0;
}

/** The command as typed: the npm script and the arguments the bench was given. */
export function commandLine(script: string, args: readonly string[] = process.argv.slice(2)): string {
  return args.length > 0 ? `npm run ${script} -- ${args.join(' ')}` : `npm run ${script}`;
}

export function markersOf(name: string): { start: string; end: string } {
  return { start: `<!-- bench:${name}:start -->`, end: `<!-- bench:${name}:end -->` };
}

/** "Measured 2026-11-26 04:13 UTC with `npm run bench` on 2 cores (AMD EPYC), ..." */
export function measuredLine(measured: Measured): string {
  const date = `${measured.date.slice(0, 10)} ${measured.date.slice(11, 16)} UTC`;
  const { nproc, cpu } = measured.machine;
  const parts = [`Measured ${date} with \`${measured.command}\` on ${nproc} cores (${cpu})`];
  if (measured.provenance) parts.push(`from ${measured.provenance}`);
  if (measured.loadAverage) {
    const { start, end } = measured.loadAverage;
    parts.push(`load average ${start.toFixed(1)} at the start and ${end.toFixed(1)} at the end`);
  }
  return `${parts.join(', ')}.`;
}

/**
 * A table and, under it, the line that says how it was measured. The table's
 * columns are padded as the formatter (Biome) lays out Markdown tables, so a
 * rewritten page stays formatted.
 */
export function tableBlock(table: string, measured: Measured): string {
  return `${alignTable(table.trimEnd())}\n\n${measuredLine(measured)}\n`;
}

/** Cells of a table row: split on `|` (not on an escaped `\|`), trimmed. */
function cellsOf(row: string): string[] {
  const inner = row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim());
}

const width = (text: string) => Array.from(text).length;

/** Pads every column of a Markdown table to its widest cell (at least 3), the rule row to dashes. */
export function alignTable(table: string): string {
  const rows = table.split('\n').map(cellsOf);
  const columns = Math.max(...rows.map((cells) => cells.length));
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(3, ...rows.filter((_, r) => r !== 1).map((cells) => width(cells[i] ?? ''))),
  );
  return rows
    .map((cells, r) => {
      const padded = widths.map((w, i) =>
        r === 1 ? '-'.repeat(w) : (cells[i] ?? '') + ' '.repeat(w - width(cells[i] ?? '')),
      );
      return `| ${padded.join(' | ')} |`;
    })
    .join('\n');
}

/** Where the line `marker` (alone on its line) starts in `text`, -1 when it is not there, -2 when more than once. */
function markerAt(text: string, marker: string): number {
  const lines = [...text.matchAll(new RegExp(`^${marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[ \t]*$`, 'gm'))];
  if (lines.length > 1) return -2;
  return lines[0]?.index ?? -1;
}

/**
 * `text` (the page `page`) with what is between the `name` markers replaced by
 * `block`; throws, naming the page, when a marker is missing, repeated or out
 * of order. A marker counts only alone on its line (a page may mention one in
 * its prose).
 */
export function replaceMarked(text: string, page: string, name: string, block: string): string {
  const { start, end } = markersOf(name);
  const from = markerAt(text, start);
  const to = markerAt(text, end);
  const fix = `put '${start}' and '${end}' on lines of their own around the table`;
  if (from === -1) throw new Error(`${page}: no marker '${start}'; ${fix}`);
  if (to === -1) throw new Error(`${page}: no marker '${end}'; ${fix}`);
  if (from === -2 || to === -2)
    throw new Error(`${page}: the '${name}' markers are there more than once; keep one pair`);
  if (to < from) throw new Error(`${page}: '${end}' comes before '${start}'; ${fix}`);
  return `${text.slice(0, from + start.length)}\n${block.trimEnd()}\n${text.slice(to)}`;
}

/** Rewrites the `name` table of `page` (a path relative to the repository's root, or absolute). */
export async function rewriteDocsTable(page: string, name: string, block: string): Promise<string> {
  const path = resolve(ROOT, page);
  const shown = relative(ROOT, path).startsWith('..') ? path : relative(ROOT, path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`${shown}: cannot read the page for the '${name}' table: ${(error as Error).message}`);
  }
  await writeFile(path, replaceMarked(text, shown, name, block));
  return shown;
}
