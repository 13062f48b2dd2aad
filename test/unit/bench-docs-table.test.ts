/**
 * The bench commands rewrite their tables in docs/ between marker comments
 * (bench/docs-table.ts): the markers are found, the table between them is
 * replaced, the rest of the page is left byte for byte, and a missing marker
 * is an error naming the page. The tables come from the benches' JSON
 * results, laid out as the formatter lays them out.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  alignTable,
  commandLine,
  type Measured,
  measuredLine,
  replaceMarked,
  rewriteDocsTable,
} from '../../bench/docs-table.js';
import { figure } from '../../bench/figures.js';
import { benchBlock, type FirmwareBenchResult, firmwareBlock, tftpBlock } from '../../bench/results.js';
import { summarize } from '../../bench/support.js';

const REPO = new URL('../../', import.meta.url).pathname;

const measured: Measured = {
  date: '2026-11-26T04:13:27.512Z',
  command: 'npm run bench -- --runs 3',
  machine: { nproc: 2, cpu: 'AMD EPYC' },
  loadAverage: { start: 1.06, end: 0.74 },
};

const page = [
  '# Performance',
  '',
  'The table sits between `<!-- bench:main:start -->` and `<!-- bench:main:end -->`.',
  '',
  '<!-- bench:main:start -->',
  '| old | table |',
  '| --- | ----- |',
  '| 1   | 2     |',
  '<!-- bench:main:end -->',
  '',
  'Reading it: the rest.',
  '',
].join('\n');

const tmp = mkdtempSync(join(tmpdir(), 'hil-docs-table-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('replaceMarked', () => {
  it('replaces what is between the markers and leaves the rest of the page as it was', () => {
    const out = replaceMarked(page, 'docs/performance.md', 'main', '| a   |\n| --- |\n| 1   |\n\nMeasured today.\n');
    expect(out).toBe(
      [
        '# Performance',
        '',
        'The table sits between `<!-- bench:main:start -->` and `<!-- bench:main:end -->`.',
        '',
        '<!-- bench:main:start -->',
        '| a   |',
        '| --- |',
        '| 1   |',
        '',
        'Measured today.',
        '<!-- bench:main:end -->',
        '',
        'Reading it: the rest.',
        '',
      ].join('\n'),
    );
    // The same block again changes nothing.
    expect(replaceMarked(out, 'docs/performance.md', 'main', '| a   |\n| --- |\n| 1   |\n\nMeasured today.\n')).toBe(
      out,
    );
  });

  it('touches only the named table of a page with two', () => {
    const two = `${page}<!-- bench:tftp:start -->\nkept\n<!-- bench:tftp:end -->\n`;
    const out = replaceMarked(two, 'p.md', 'tftp', 'new');
    expect(out).toBe(`${page}<!-- bench:tftp:start -->\nnew\n<!-- bench:tftp:end -->\n`);
  });

  it('is an error naming the page when a marker is missing, repeated or out of order', () => {
    const fix = "put '<!-- bench:main:start -->' and '<!-- bench:main:end -->' on lines of their own around the table";
    expect(() => replaceMarked(page.replace('<!-- bench:main:start -->\n', ''), 'docs/x.md', 'main', 't')).toThrow(
      `docs/x.md: no marker '<!-- bench:main:start -->'; ${fix}`,
    );
    expect(() => replaceMarked(page.replace('<!-- bench:main:end -->\n', ''), 'docs/x.md', 'main', 't')).toThrow(
      `docs/x.md: no marker '<!-- bench:main:end -->'; ${fix}`,
    );
    // A marker mentioned in prose (not alone on its line) is no marker.
    expect(() => replaceMarked(page, 'docs/x.md', 'firmware', 't')).toThrow(
      "docs/x.md: no marker '<!-- bench:firmware:start -->'",
    );
    expect(() => replaceMarked(`${page}<!-- bench:main:end -->\n`, 'docs/x.md', 'main', 't')).toThrow(
      "docs/x.md: the 'main' markers are there more than once; keep one pair",
    );
    const swapped = '<!-- bench:main:end -->\nx\n<!-- bench:main:start -->\n';
    expect(() => replaceMarked(swapped, 'docs/x.md', 'main', 't')).toThrow(
      `docs/x.md: '<!-- bench:main:end -->' comes before '<!-- bench:main:start -->'; ${fix}`,
    );
  });
});

describe('rewriteDocsTable', () => {
  it('rewrites the table in the file', async () => {
    const file = join(tmp, 'page.md');
    writeFileSync(file, page);
    await rewriteDocsTable(file, 'main', 'new table\n');
    expect(readFileSync(file, 'utf8')).toBe(
      page.replace('| old | table |\n| --- | ----- |\n| 1   | 2     |\n', 'new table\n'),
    );
  });

  it('leaves a page without the markers untouched and names it', async () => {
    const file = join(tmp, 'other.md');
    writeFileSync(file, '# Other\n');
    await expect(rewriteDocsTable(file, 'main', 'x')).rejects.toThrow(`${file}: no marker '<!-- bench:main:start -->'`);
    expect(readFileSync(file, 'utf8')).toBe('# Other\n');
    await expect(rewriteDocsTable('docs/no-such-page.md', 'main', 'x')).rejects.toThrow(
      "docs/no-such-page.md: cannot read the page for the 'main' table",
    );
  });
});

describe('the table blocks', () => {
  it('says under the table when, on what machine and with which command', () => {
    expect(measuredLine(measured)).toBe(
      'Measured 2026-11-26 04:13 UTC with `npm run bench -- --runs 3` on 2 cores (AMD EPYC), load average 1.1 at the start and 0.7 at the end.',
    );
    expect(measuredLine({ ...measured, loadAverage: undefined, provenance: 'busybox-static 1:1.35.0-4+b3' })).toBe(
      'Measured 2026-11-26 04:13 UTC with `npm run bench -- --runs 3` on 2 cores (AMD EPYC), from busybox-static 1:1.35.0-4+b3.',
    );
    expect(commandLine('bench:tftp', [])).toBe('npm run bench:tftp');
    expect(commandLine('bench:tftp', ['--runs', '3'])).toBe('npm run bench:tftp -- --runs 3');
  });

  it('renders npm run bench and bench:tftp results as an aligned table and the measured line', () => {
    const figures = [
      figure({
        id: 'boot.init.floor',
        figure: "busybox: run start to 'Run /init as init process'",
        unit: 's',
        values: [11.5, 12, 13.25],
        reference: { name: 'direct -kernel boot', values: [8, 8, 8] },
        goal: { kind: 'ratio-at-most', limit: 1.5, text: 'within 1.5x of the floor' },
      }),
    ];
    const result = {
      ...measured,
      mode: 'full' as const,
      runs: 3,
      machine: { ...measured.machine, accel: 'tcg' as const },
      image: 'busybox',
      figures,
      notMeasured: [{ figure: 'power', why: 'not measured on this branch' }],
      benchId: 'b0',
      jobIds: [],
    };
    expect(benchBlock(result)).toBe(
      [
        '| figure                                            | pxe-hil                     | reference                      | ratio | goal                     | met? |',
        '| ------------------------------------------------- | --------------------------- | ------------------------------ | ----- | ------------------------ | ---- |',
        "| busybox: run start to 'Run /init as init process' | 12 s (11.5–13.3)            | direct -kernel boot: 8 s (8–8) | 1.50x | within 1.5x of the floor | yes  |",
        '| power                                             | not measured on this branch | —                              | —     | —                        | —    |',
        '',
        measuredLine(measured),
        '',
      ].join('\n'),
    );
    const tftp = { ...measured, mode: 'full' as const, runs: 3, image: 'busybox', file: 'i', bytes: 1, figures };
    expect(tftpBlock(tftp).split('\n')[2]).toBe(
      "| busybox: run start to 'Run /init as init process' | 12 s (11.5–13.3) | direct -kernel boot: 8 s (8–8) | 1.50x | within 1.5x of the floor | yes  |",
    );
  });

  it('renders npm run bench:firmware results as one row per board', () => {
    const result: FirmwareBenchResult = {
      ...measured,
      command: 'npm run bench:firmware -- --rounds 3',
      rounds: 3,
      image: 'busybox',
      imageProvenance: 'linux-image-6.1.0-57-cloud-amd64 6.1.192-3, busybox-static 1:1.35.0-4+deb12u1+b1',
      readyName: 'shell prompt',
      accel: 'tcg',
      boards: [
        {
          name: 'BIOS, iPXE ROM gets boot.ipxe (`auto`)',
          firmware: 'bios',
          loader: 'auto',
          init: summarize([11.1, 15.9, 11.12]),
          ready: summarize([12.8, 18.7, 12.4]),
        },
      ],
    };
    expect(firmwareBlock(result)).toBe(
      [
        '| board                                  | run start to init  | run start to shell prompt |',
        '| -------------------------------------- | ------------------ | ------------------------- |',
        '| BIOS, iPXE ROM gets boot.ipxe (`auto`) | 11.1 s (11.1–15.9) | 12.8 s (12.4–18.7)        |',
        '',
        'Measured 2026-11-26 04:13 UTC with `npm run bench:firmware -- --rounds 3` on 2 cores (AMD EPYC), load average 1.1 at the start and 0.7 at the end.',
        '',
      ].join('\n'),
    );
  });

  it('lays a table out exactly as Biome formats Markdown', async () => {
    const table = alignTable(
      [
        '| figure | pxe-hil | met? |',
        '| --- | --- | --- |',
        '| TFTP ≥ 2x, curl `a\\|b` | 4.29 s (4.18–4.67) | — |',
        '| x | 1 | NO |',
      ].join('\n'),
    );
    const formatted = await execa('npx', ['biome', 'format', '--stdin-file-path=docs/table.md'], {
      cwd: REPO,
      input: `${table}\n`,
    });
    expect(formatted.stdout).toBe(table);
  });
});

describe('the pages in docs/', () => {
  it('have the markers of every bench table, each table followed by its measured line', () => {
    const tables: [string, string, RegExp][] = [
      ['docs/performance.md', 'main', /^Measured .* with `npm run bench(?: -- [^`]*)?` on \d+ cores \(.+\)/m],
      ['docs/performance.md', 'tftp', /^Measured .* with `npm run bench(?::tftp)?(?: -- [^`]*)?` on \d+ cores \(.+\)/m],
      ['docs/firmware.md', 'firmware', /^Measured .* with `npm run bench:firmware(?: -- [^`]*)?` on \d+ cores \(.+\)/m],
    ];
    for (const [file, name, line] of tables) {
      const text = readFileSync(join(REPO, file), 'utf8');
      const block = new RegExp(`^<!-- bench:${name}:start -->\\n([\\s\\S]*?)^<!-- bench:${name}:end -->$`, 'm').exec(
        text,
      );
      expect(block, `${file} ${name}`).not.toBeNull();
      expect(block![1], `${file} ${name}`).toMatch(/^\| .* \|\n\| -+ \|/);
      expect(block![1], `${file} ${name}`).toMatch(line);
    }
  });
});
