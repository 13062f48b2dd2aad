/**
 * The benchmark's figures: a pxe-hil value (median, min, max of its runs),
 * an optional reference measured in the same run, their ratio, and the goal
 * the figure is held to. Rendering as a Markdown table is here too.
 */
import { summarize, type Summary } from './support.js';

/**
 * A goal on the ratio pxe-hil / reference (`ratio-at-most`, `ratio-at-least`)
 * or on the pxe-hil value itself (`value-at-most`, `value-at-least`).
 */
export type Goal = {
  kind: 'ratio-at-most' | 'ratio-at-least' | 'value-at-most' | 'value-at-least';
  limit: number;
  text: string;
};

/**
 * What a bench file that `npm run bench` runs for its `measure*` exports may
 * say of its fields (`labels`): the figure's words and its baseline's name,
 * which are otherwise the field's name and 'baseline'.
 */
export type FigureLabels = Record<string, { figure: string; baseline?: string }>;

export type Figure = {
  id: string;
  figure: string;
  unit: string;
  pxeHil: Summary;
  reference?: { name: string } & Summary;
  /**
   * pxe-hil / reference: the median of the per-round ratios when both were
   * measured in the same rounds (pairs taken back to back share the host's
   * load of the moment), else the ratio of the medians.
   */
  ratio?: number;
  goal?: Goal;
  met?: boolean;
};

export function figure(options: {
  id: string;
  figure: string;
  unit: string;
  values: readonly number[];
  reference?: { name: string; values: readonly number[] };
  goal?: Goal;
}): Figure {
  const pxeHil = summarize(options.values);
  const reference = options.reference
    ? { name: options.reference.name, ...summarize(options.reference.values) }
    : undefined;
  const ratio = reference ? ratioOf(options.values, options.reference!.values) : undefined;
  const result: Figure = {
    id: options.id,
    figure: options.figure,
    unit: options.unit,
    pxeHil,
    reference,
    ratio,
    goal: options.goal,
  };
  if (options.goal) result.met = meets(options.goal, pxeHil.median, ratio);
  return result;
}

function ratioOf(values: readonly number[], reference: readonly number[]): number {
  if (values.length === reference.length) return summarize(values.map((v, i) => v / reference[i]!)).median;
  return summarize(values).median / summarize(reference).median;
}

function meets(goal: Goal, value: number, ratio: number | undefined): boolean {
  switch (goal.kind) {
    case 'value-at-most':
      return value <= goal.limit;
    case 'value-at-least':
      return value >= goal.limit;
    case 'ratio-at-most':
      return ratio !== undefined && ratio <= goal.limit;
    case 'ratio-at-least':
      return ratio !== undefined && ratio >= goal.limit;
  }
}

const number = (value: number) =>
  Number.isInteger(value)
    ? String(value)
    : Math.abs(value) >= 100
      ? value.toFixed(0)
      : Math.abs(value) >= 10
        ? value.toFixed(1)
        : value.toFixed(2);

function cell(summary: Summary, unit: string): string {
  const spread = summary.runs.length > 1 ? ` (${number(summary.min)}–${number(summary.max)})` : '';
  return `${number(summary.median)} ${unit}${spread}`.trim();
}

export function renderTable(
  figures: readonly Figure[],
  notMeasured: readonly { figure: string; why: string }[],
): string {
  const rows = [
    '| figure | pxe-hil | reference | ratio | goal | met? |',
    '| --- | --- | --- | --- | --- | --- |',
    ...figures.map((f) =>
      [
        f.figure,
        cell(f.pxeHil, f.unit),
        f.reference ? `${f.reference.name}: ${cell(f.reference, f.unit)}` : '—',
        f.ratio !== undefined ? `${f.ratio.toFixed(2)}x` : '—',
        f.goal?.text ?? '—',
        f.met === undefined ? '—' : f.met ? 'yes' : 'NO',
      ].join(' | '),
    ),
    ...notMeasured.map((n) => [n.figure, n.why, '—', '—', '—', '—'].join(' | ')),
  ];
  return `${rows.map((r) => (r.startsWith('|') ? r : `| ${r} |`)).join('\n')}\n`;
}

/** Boots of one board (a firmware and a loader): seconds from the run's start to init and to the last milestone. */
export type BoardBoots = { name: string; firmware: string; loader: string; init: Summary; ready: Summary };

/** The firmware bench's table: one row per board, each time the median of the rounds (min–max). */
export function renderBoardTable(boards: readonly BoardBoots[], readyName: string): string {
  const seconds = (s: Summary) => `${s.median.toFixed(1)} s (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  const rows = [
    `| board | run start to init | run start to ${readyName} |`,
    '| --- | --- | --- |',
    ...boards.map((b) => `| ${b.name} | ${seconds(b.init)} | ${seconds(b.ready)} |`),
  ];
  return `${rows.join('\n')}\n`;
}
