/**
 * The TFTP part of `npm run bench` on its own, quicker to repeat while
 * working on the TFTP server: the job's file server against dnsmasq's TFTP
 * server for each lock-step client, and windowsize 8 against 1, on the
 * Debian installer's initrd (the busybox image's with --quick). Prints the
 * same Markdown rows as the full benchmark, writes them as JSON (--out) and,
 * unless --quick, rewrites its table in docs/performance.md (or --page FILE)
 * between the `bench:tftp` markers (bench/docs-table.ts).
 *
 * Run: npm run bench:tftp [-- --runs N] [-- --quick] [-- --out FILE] [-- --page FILE]
 */
import { stat, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadRunConfig } from '../harness/cli/run-config.js';
import { commandLine, loadNow, machineFacts, rewriteDocsTable } from './docs-table.js';
import { renderTable } from './figures.js';
import { type TftpBenchResult, tftpBlock } from './results.js';
import { measureTftpFigures } from './tftp.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-tftp-results.json' },
    page: { type: 'string' },
  },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a whole number of at least 1, got '${values.runs}'`);
const command = commandLine('bench:tftp');
const loadAtStart = loadNow();
const { image } = await loadRunConfig({ target: 'qemu-x86', image: values.quick ? 'busybox' : 'debian-netinstall' });
const prepared = await image.prepare();
const [file, name] = prepared.initrd
  ? [prepared.initrd, image.servedNames.initrd ?? 'initrd']
  : [prepared.kernel, image.servedNames.kernel];
process.stderr.write(`bench: TFTP, ${runs} run(s) of every client against pxe-hil and dnsmasq, file ${file}\n`);
const figures = await measureTftpFigures(file, name, runs);
process.stdout.write(`${renderTable(figures, [])}\n`);
const result: TftpBenchResult = {
  date: new Date().toISOString(),
  command,
  mode: values.quick ? 'quick' : 'full',
  runs,
  machine: machineFacts(),
  loadAverage: { start: loadAtStart, end: loadNow() },
  image: image.name,
  provenance: prepared.provenance,
  file: name,
  bytes: (await stat(file)).size,
  figures,
};
await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
process.stderr.write(`bench: wrote ${values.out}\n`);
const page = values.page ?? (values.quick ? undefined : 'docs/performance.md');
if (page)
  process.stderr.write(`bench: wrote the table in ${await rewriteDocsTable(page, 'tftp', tftpBlock(result))}\n`);
