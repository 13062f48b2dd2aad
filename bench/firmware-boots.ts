/**
 * Time to the busybox shell by firmware and loader, through pxe-hil: a BIOS
 * board whose iPXE ROM gets the script at once, the same board chainloading
 * undionly.kpxe, and an OVMF board chainloading ipxe.efi or booting GRUB
 * (and, for reference, BIOS with pxelinux over TFTP). The boards take turns,
 * one at a time, `--rounds` times; each figure is the median (min–max).
 *
 *   npm run bench:firmware -- --rounds 3
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Target } from '../harness/config/target.js';
import { loadRunConfig } from '../harness/cli/run-config.js';
import { bootHarness } from './boot-harness.js';
import { summarize } from './support.js';

type Variant = { name: string; firmware: 'bios' | 'uefi'; loader: Target['boot']['loader'] };

const VARIANTS: Variant[] = [
  { name: 'BIOS, iPXE ROM gets boot.ipxe (auto)', firmware: 'bios', loader: 'auto' },
  { name: 'BIOS, iPXE ROM chainloads undionly.kpxe (chainload)', firmware: 'bios', loader: 'chainload' },
  { name: 'UEFI (OVMF), firmware PXE chainloads ipxe.efi (auto)', firmware: 'uefi', loader: 'auto' },
  { name: 'UEFI (OVMF), GRUB over TFTP (pxelinux)', firmware: 'uefi', loader: 'pxelinux' },
  { name: 'BIOS, pxelinux over TFTP (pxelinux)', firmware: 'bios', loader: 'pxelinux' },
];

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1' } } });
const rounds = Number(values.rounds);
const { target, image } = await loadRunConfig({ target: 'qemu-x86', image: 'busybox' });
if (target.power.driver !== 'qemu') throw new Error('qemu-x86 is expected to be a QEMU board');
const power = target.power;
const times = new Map<string, { init: number[]; ready: number[] }>(
  VARIANTS.map((v) => [v.name, { init: [], ready: [] }]),
);
const loadAtStart = loadavg()[0]!;
for (let round = 0; round < rounds; round++) {
  for (const variant of VARIANTS) {
    const board: Target = {
      ...target,
      name: `fw-${variant.firmware}-${variant.loader}`,
      power: { ...power, firmware: variant.firmware },
      boot: { loader: variant.loader },
      timeoutScale: 5,
    };
    const boot = await bootHarness(board, image);
    times.get(variant.name)!.init.push(boot.initMs);
    times.get(variant.name)!.ready.push(boot.readyMs);
  }
}
const s = (ms: readonly number[]) => {
  const { median, min, max } = summarize(ms.map((m) => m / 1000));
  return `${median.toFixed(1)} s (${min.toFixed(1)}–${max.toFixed(1)})`;
};
console.log(
  `${new Date().toUTCString()}, ${cpus().length} CPUs, QEMU ${power.accel}, ${rounds} round(s), load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end`,
);
console.log('| board | run start to init | run start to shell prompt |');
console.log('| --- | --- | --- |');
for (const variant of VARIANTS)
  console.log(`| ${variant.name} | ${s(times.get(variant.name)!.init)} | ${s(times.get(variant.name)!.ready)} |`);
