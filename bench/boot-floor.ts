/**
 * The floor of a boot: the same kernel and initrd booted directly by QEMU
 * (`-kernel`, `-initrd`, `-append console=ttyS0,115200`), no firmware network
 * boot, no network at all, serial port to a pipe. Same machine type, memory,
 * CPUs and accelerator (the one the bench resolved for all its boots) as the
 * harness's QEMU target.
 *
 * Tested against: qemu-system-x86 7.2 (Debian 12) under TCG.
 * Reference: QEMU System Emulation user docs (direct Linux boot, -serial stdio, -nodefaults).
 */
import type { Target } from '../harness/config/target.js';
import { Deadline } from '../harness/core/deadline.js';
import { startChild } from '../harness/core/process.js';
import type { ImageDefinition } from '../harness/images/image.js';
import { bootMarks, ConsoleMarks, type MarkTimes } from './support.js';

export type FloorBoot = MarkTimes;

export async function bootFloor(
  target: Target,
  image: ImageDefinition,
  timeoutMs: number,
  accel: 'kvm' | 'tcg',
): Promise<FloorBoot> {
  const prepared = await image.prepare();
  if (target.power.driver !== 'qemu') throw new Error('the floor boot needs a QEMU target');
  const origin = performance.now();
  const marks = new ConsoleMarks(bootMarks(image), image.failurePatterns, origin);
  const cmdline = [image.cmdline, `console=${target.console.kernelConsole}`, target.kernelArgs]
    .filter(Boolean)
    .join(' ');
  const args = [
    '-machine',
    `pc,accel=${accel}`,
    '-m',
    String(target.power.memoryMiB),
    '-smp',
    String(target.power.cpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-kernel',
    prepared.kernel,
    ...(prepared.initrd ? ['-initrd', prepared.initrd] : []),
    '-append',
    cmdline,
  ];
  const qemu = startChild('qemu-floor', 'qemu-system-x86_64', args);
  qemu.subprocess.stdout?.on('data', (chunk: Buffer) => marks.feed(chunk));
  void qemu.exited.then((exit) =>
    marks.abort(`QEMU exited (code ${exit.exitCode ?? exit.signal}) before the boot was done`),
  );
  try {
    return await marks.wait(Deadline.in(timeoutMs, `the direct boot of ${image.name} to its last milestone`));
  } finally {
    await qemu.stop(2000);
  }
}
