/**
 * The benchmark in its smoke mode (`npm run bench -- --quick`: one run each,
 * the small image, a small file), so that it keeps working. Nothing about
 * speed is asserted: only that every figure was measured, as a positive
 * number, and that the runs left nothing behind.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_RESIDUE, REPO, residueOf } from '../support/hil.js';

type Summary = { median: number; min: number; max: number; runs: number[] };
type Figure = {
  id: string;
  figure: string;
  unit: string;
  pxeHil: Summary;
  reference?: Summary & { name: string };
  ratio?: number;
};
type BenchResult = {
  mode: string;
  runs: number;
  image: string;
  figures: Figure[];
  notMeasured: { figure: string; why: string }[];
  benchId: string;
  jobIds: string[];
};

/** The figures of --quick mode (console and power figures come from their own bench files, when present). */
const QUICK_FIGURES = [
  'boot.init.floor',
  'boot.ready.floor',
  'setup',
  'teardown',
  'tftp.curl-512',
  'tftp.curl-1468',
  'tftp.tftp-hpa',
  'tftp.curl-512.cpu',
  'tftp.curl-512.unpolled',
  'tftp.curl-512.unpolled-cpu',
  'tftp.window',
  'tftp.window-agreed',
  'memory.harness',
  'memory.file-server',
  'start',
  'start.run',
  'jobs.setup',
  'jobs.teardown',
  'jobs.memory',
];

const outDir = mkdtempSync(join(tmpdir(), 'hil-bench-smoke-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const positive = (summary: Summary) =>
  [summary.median, summary.min, summary.max, ...summary.runs].every((n) => Number.isFinite(n) && n > 0);

describe('npm run bench -- --quick', () => {
  it('measures every figure as a positive number and leaves nothing behind', async () => {
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('hil-bench-')));
    const out = join(outDir, 'bench.json');
    const run = await execa('npm', ['run', '--silent', 'bench', '--', '--quick', '--out', out], {
      cwd: REPO,
      reject: false,
      all: true,
    });
    expect(run.exitCode, String(run.all)).toBe(0);

    const result = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
    expect(result).toMatchObject({ mode: 'quick', runs: 1, image: 'busybox' });
    const ids = result.figures.map((f) => f.id);
    expect(ids.filter((id) => !/^(console|power)\./.test(id))).toEqual(QUICK_FIGURES);
    for (const figure of result.figures) {
      expect(positive(figure.pxeHil), `${figure.id}: ${JSON.stringify(figure.pxeHil)}`).toBe(true);
      // One run each; the jobs at once are two jobs.
      expect(figure.pxeHil.runs, figure.id).toHaveLength(figure.id.startsWith('jobs.') ? 2 : 1);
      if (figure.reference) {
        expect(positive(figure.reference), `${figure.id} reference: ${JSON.stringify(figure.reference)}`).toBe(true);
        expect(figure.ratio, figure.id).toBeGreaterThan(0);
      }
    }
    // Every figure except these has its reference even in --quick mode (set-up and tear-down compare with the skipped boot).
    expect(
      result.figures
        .filter((f) => !f.reference)
        .map((f) => f.id)
        .filter((id) => !/^(console|power)\./.test(id)),
    ).toEqual([
      'setup',
      'teardown',
      'memory.harness',
      'memory.file-server',
      'start',
      'start.run',
      'jobs.setup',
      'jobs.teardown',
      'jobs.memory',
    ]);
    expect(result.notMeasured.map((n) => n.figure)).toContain('boot vs dnsmasq+pxelinux');
    expect(result.notMeasured.map((n) => n.figure)).toContain(
      'U-Boot TFTP windows; the arm64 U-Boot board to Run /init',
    );

    // The table on stdout: a header, its rule and one row per figure and per figure not measured.
    const table = String(run.stdout)
      .split('\n')
      .filter((line) => line.startsWith('| '));
    expect(table[0]).toBe('| figure | pxe-hil | reference | ratio | goal | met? |');
    expect(table).toHaveLength(2 + result.figures.length + result.notMeasured.length);

    // One boot, one start (stopped at its PXE server) and two jobs at once.
    expect(result.jobIds).toHaveLength(4);
    for (const id of [
      ...result.jobIds,
      `${result.benchId}-seed`,
      `${result.benchId}-tftp`,
      `${result.benchId}-tftp-client`,
    ]) {
      expect(residueOf(id), id).toEqual(NO_RESIDUE);
    }
    // This run's temporary directories (named after its bench id) are gone; other benches on the host do not count.
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith(`hil-bench-${result.benchId}-`) && !before.has(f))).toEqual(
      [],
    );
  }, 300_000);
});
