/**
 * `npm run bench:uboot`: U-Boot's TFTP load of kernel and initrd on the arm64
 * U-Boot board, tftpwindowsize 1 against the target's default window, in the
 * same run (bench/uboot-window.ts); and the board from the run's start to
 * `Run /init` through pxe-hil against its direct-kernel floor (bench/uboot-floor.ts). Prints the Markdown row, writes it as
 * JSON (--out) and rewrites its table in docs/performance.md (or --page FILE)
 * between the `bench:uboot` markers (bench/docs-table.ts).
 *
 *   npm run bench:uboot [-- --rounds N] [-- --window N] [-- --out FILE] [-- --page FILE]
 *
 * --window N measures another window than the target's default against 1.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { commandLine, loadNow, machineFacts, rewriteDocsTable } from './docs-table.js';
import { renderTable } from './figures.js';
import { type UbootBenchResult, ubootBlock } from './results.js';
import { interrupted } from './support.js';
import { measureUboot } from './uboot.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    window: { type: 'string' },
    out: { type: 'string', default: 'bench-uboot-results.json' },
    page: { type: 'string', default: 'docs/performance.md' },
  },
  strict: true,
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds must be a whole number of at least 1, got '${values.rounds}'`);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => interrupted.abort(new Error(`interrupted by ${signal}`)));
const command = commandLine('bench:uboot');
const loadAtStart = loadNow();
const window = values.window === undefined ? undefined : Number(values.window);
const { target, image, provenance, results, floor, figures } = await measureUboot(
  rounds,
  (line) => process.stderr.write(`bench: ${line}\n`),
  window,
);
process.stdout.write(`${renderTable(figures, [])}\n`);
const result: UbootBenchResult = {
  date: new Date().toISOString(),
  command,
  machine: machineFacts(),
  loadAverage: { start: loadAtStart, end: loadNow() },
  provenance,
  rounds,
  target: target.name,
  image: image.name,
  accel: target.power.driver === 'qemu' ? target.power.accel : 'none',
  results,
  floor,
  figures,
};
await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
process.stderr.write(`bench: wrote ${values.out}\n`);
process.stderr.write(`bench: wrote the table in ${await rewriteDocsTable(values.page, 'uboot', ubootBlock(result))}\n`);
process.exit(0);
