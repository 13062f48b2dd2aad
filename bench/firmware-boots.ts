/**
 * Time to the busybox shell by firmware and loader, through pxe-hil: a BIOS
 * board whose iPXE ROM gets the script at once, the same board chainloading
 * undionly.kpxe, and an OVMF board chainloading ipxe.efi or booting GRUB
 * (and, for reference, BIOS with pxelinux over TFTP). The boards take turns,
 * one at a time, `--rounds` times; each figure is the median (min–max).
 * Prints the table, writes the figures as JSON (--out) and rewrites the table
 * in docs/firmware.md (or --page FILE) between the `bench:firmware` markers
 * (bench/docs-table.ts).
 *
 *   npm run bench:firmware -- --rounds 3 [--out FILE] [--page FILE]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Target } from '../harness/config/target.js';
import { loadRunConfig } from '../harness/cli/run-config.js';
import { benchTargets, bootHarness } from './boot-harness.js';
import { commandLine, loadNow, machineFacts, rewriteDocsTable } from './docs-table.js';
import { renderBoardTable } from './figures.js';
import { type FirmwareBenchResult, firmwareBlock } from './results.js';
import { summarize } from './support.js';

type Variant = { name: string; firmware: 'bios' | 'uefi'; loader: Target['boot']['loader'] };

const VARIANTS: Variant[] = [
  { name: 'BIOS, iPXE ROM gets boot.ipxe (`auto`)', firmware: 'bios', loader: 'auto' },
  { name: 'BIOS, iPXE ROM chainloads undionly.kpxe (`chainload`)', firmware: 'bios', loader: 'chainload' },
  { name: 'UEFI (OVMF), firmware PXE chainloads ipxe.efi (`auto`)', firmware: 'uefi', loader: 'auto' },
  { name: 'UEFI (OVMF), GRUB over TFTP (`pxelinux`)', firmware: 'uefi', loader: 'pxelinux' },
  { name: 'BIOS, pxelinux over TFTP (`pxelinux`)', firmware: 'bios', loader: 'pxelinux' },
];

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1' },
    out: { type: 'string', default: 'bench-firmware-results.json' },
    page: { type: 'string', default: 'docs/firmware.md' },
  },
  strict: true,
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds must be a whole number of at least 1, got '${values.rounds}'`);
const command = commandLine('bench:firmware');
const { target, image } = await loadRunConfig({ target: 'qemu-x86', image: 'busybox' });
if (target.power.driver !== 'qemu') throw new Error('qemu-x86 is expected to be a QEMU board');
const power = target.power;
const times = new Map<string, { init: number[]; ready: number[] }>(
  VARIANTS.map((v) => [v.name, { init: [], ready: [] }]),
);
const loadAtStart = loadNow();
const boardOf = (variant: Variant): Target => ({
  ...target,
  name: `fw-${variant.firmware}-${variant.loader}`,
  power: { ...power, firmware: variant.firmware },
  boot: { ...target.boot, loader: variant.loader },
  timeoutScale: 5,
});
const targets = await benchTargets(VARIANTS.map(boardOf));
try {
  for (let round = 0; round < rounds; round++) {
    for (const variant of VARIANTS) {
      const boot = await bootHarness(targets, boardOf(variant).name, image, 900_000);
      times.get(variant.name)!.init.push(boot.initMs / 1000);
      times.get(variant.name)!.ready.push(boot.readyMs / 1000);
    }
  }
} finally {
  await targets.remove();
}
const result: FirmwareBenchResult = {
  date: new Date().toISOString(),
  command,
  machine: machineFacts(),
  loadAverage: { start: loadAtStart, end: loadNow() },
  imageProvenance: (await image.prepare()).provenance,
  rounds,
  image: image.name,
  readyName: image.milestones.at(-1)!.name,
  accel: power.accel,
  boards: VARIANTS.map((v) => ({
    name: v.name,
    firmware: v.firmware,
    loader: v.loader,
    init: summarize(times.get(v.name)!.init),
    ready: summarize(times.get(v.name)!.ready),
  })),
};
process.stdout.write(renderBoardTable(result.boards, result.readyName));
await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
process.stderr.write(`bench: wrote ${values.out}\n`);
process.stderr.write(
  `bench: wrote the table in ${await rewriteDocsTable(values.page, 'firmware', firmwareBlock(result))}\n`,
);
