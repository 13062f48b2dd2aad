import { qemuArch } from '../harness/config/qemu-arch.js';
import type { Target } from '../harness/config/target.js';
import { Deadline } from '../harness/core/deadline.js';
import { startChild } from '../harness/core/process.js';
import type { ImageDefinition } from '../harness/images/image.js';
import { figure, type Figure } from './figures.js';
import { runJobUntil } from './run-job-until.js';
import { interrupted } from './support.js';

const BOOT_TIMEOUT_MS = 600_000;
/** The kernel's hand-over to init, as the image's 'init started' milestone reads it. */
const INIT = /Run \S+ as init process/;

export type UbootFloorResults = { harness: number[]; floor: number[] };

/** Seconds from the run's start to the 'init started' milestone, through pxe-hil; the job stopped there. */
async function throughHarness(target: Target, image: ImageDefinition): Promise<number> {
  let initMs: number | undefined;
  await runJobUntil(target, image, 'uboot-floor', (event, done) => {
    if (event.type === 'milestone' && event.name === 'init started') {
      initMs = event.t;
      done('init started: the measurement is done');
    }
  });
  if (initMs === undefined) throw new Error(`${target.name}: the boot ended before 'init started'`);
  return initMs / 1000;
}

/** Seconds from QEMU's start to `Run /init`, the kernel and initrd booted directly. */
async function floorBoot(target: Target, image: ImageDefinition): Promise<number> {
  const power = target.power;
  if (power.driver !== 'qemu') throw new Error('the floor boot needs a QEMU target');
  const prepared = await image.prepare();
  const cmdline = [image.cmdline, `console=${target.console.kernelConsole}`, target.kernelArgs]
    .filter(Boolean)
    .join(' ');
  const args = [
    ...['-machine', `${power.machine ?? qemuArch(power.arch).machine},accel=tcg`],
    ...(power.cpu ? ['-cpu', power.cpu] : []),
    ...['-m', String(power.memoryMiB), '-smp', String(power.cpus)],
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio'],
    ...['-kernel', prepared.kernel, ...(prepared.initrd ? ['-initrd', prepared.initrd] : []), '-append', cmdline],
  ];
  const started = performance.now();
  let seen = '';
  let reached: () => void = () => {};
  const init = new Promise<void>((resolve) => (reached = resolve));
  const qemu = startChild('qemu-floor', qemuArch(power.arch).program, args, {
    onStdoutData: (chunk) => {
      seen = (seen + chunk.toString('latin1')).slice(-4096);
      if (INIT.test(seen)) reached();
    },
  });
  try {
    await Deadline.in(BOOT_TIMEOUT_MS, `the direct boot of ${image.name} to Run /init`).race(init, interrupted.signal);
    return (performance.now() - started) / 1000;
  } finally {
    await qemu.stop(2000);
  }
}

/** `rounds` rounds, each booting through pxe-hil and directly, in alternating order. */
export async function measureUbootFloor(
  target: Target,
  image: ImageDefinition,
  rounds: number,
): Promise<UbootFloorResults> {
  const results: UbootFloorResults = { harness: [], floor: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['harness', 'floor'] as const) : (['floor', 'harness'] as const);
    for (const way of order) {
      process.stderr.write(`bench: round ${round + 1}/${rounds}, ${way}\n`);
      results[way].push(way === 'harness' ? await throughHarness(target, image) : await floorBoot(target, image));
    }
  }
  return results;
}

export function ubootFloorFigures(results: UbootFloorResults, image: ImageDefinition): Figure[] {
  return [
    figure({
      id: 'uboot.init.floor',
      figure: `${image.name} on the arm64 U-Boot board (TCG): run start to 'Run /init'`,
      unit: 's',
      values: results.harness,
      reference: { name: 'direct -kernel boot', values: results.floor },
    }),
  ];
}
