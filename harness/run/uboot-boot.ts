/**
 * What a job adds for a board whose firmware is U-Boot (target.boot.uboot):
 * the boot script U-Boot's distro boot fetches (mode 'script'), the device
 * tree under the name U-Boot asks for, and, for mode 'interactive', the plan
 * of the console dialogue that stops autoboot and types the commands. Nothing
 * here depends on how the board is powered or how its console is reached.
 */
import { join } from 'node:path';
import type { Target } from '../config/target.js';
import type { FailurePattern } from '../core/boot.js';
import { ubootFailurePatterns } from '../images/boot-patterns.js';
import { UsageError } from '../core/errors.js';
import type { PreparedImage } from '../images/image.js';
import { readKernelFormat, ubootBootCommand } from '../images/kernel-format.js';
import type { BootEntry } from '../pxe/boot-config.js';
import type { ServedFile } from '../core/boot.js';
import {
  makeUbootScriptImage,
  renderUbootCommands,
  renderUbootScript,
  ubootFacts,
  UBOOT_SCRIPT_NAME,
} from '../pxe/uboot-commands.js';
import type { BootloaderPlan } from './bootloader-dialogue.js';

export type UbootBoot = {
  /** The boot entry, with the device tree for pxelinux-style configs (`pxe get`). */
  entry: BootEntry;
  files: ServedFile[];
  dialogue?: BootloaderPlan;
  /** The image's failure patterns and U-Boot's. */
  failurePatterns: readonly FailurePattern[];
};

/** How long the autoboot prompt may take after power-on, before the time-out scale. */
const INTERRUPT_TIMEOUT_MS = 120_000;

export async function prepareUbootBoot(options: {
  target: Target;
  entry: BootEntry;
  prepared: PreparedImage;
  /** The kernel file served, whose header says which command runs it. */
  kernelPath: string;
  imageName: string;
  imageFailurePatterns: readonly FailurePattern[];
  serverIp: string;
  boardIp: string;
}): Promise<UbootBoot> {
  const { target, prepared } = options;
  const uboot = target.boot.uboot;
  if (!uboot) return { entry: options.entry, files: [], failurePatterns: options.imageFailurePatterns };

  const files: ServedFile[] = [];
  const facts = ubootFacts({
    entry: options.entry,
    serverIp: options.serverIp,
    boardIp: options.boardIp,
    mac: target.network.mac,
    // The job's own device tree (--dtb) comes before the one the target names from the image's trees.
    fdtfile: options.entry.fdt ? undefined : uboot.fdtfile,
    bootCommand: await bootCommandFor(options.kernelPath, options.imageName),
    tftp: { blockSize: uboot.tftpBlockSize, windowSize: uboot.tftpWindowSize },
  });
  if (uboot.fdtfile && !options.entry.fdt) {
    if (!prepared.dtbDir) {
      throw new UsageError(
        `target ${target.name} names device tree '${uboot.fdtfile}', but image ${options.imageName} ships no device trees. Fix: drop boot.uboot.fdtfile (the board's own tree is used) or pick an image with DTBs.`,
      );
    }
    files.push({ name: facts.dtb, role: 'other', path: join(prepared.dtbDir, uboot.fdtfile) });
  }
  const entry = { ...options.entry, fdt: facts.dtb || undefined };
  const failurePatterns = [
    ...options.imageFailurePatterns,
    ...ubootFailurePatterns.filter((p) => !options.imageFailurePatterns.some((q) => q.name === p.name)),
  ];

  if (uboot.mode === 'script') {
    const script = renderUbootScript(entry.label, renderUbootCommands(uboot.commands, facts, 'script'));
    const image = await makeUbootScriptImage(script, uboot.arch, `pxe-hil ${target.name}`);
    files.push({ name: UBOOT_SCRIPT_NAME, role: 'boot-config', content: image.toString('base64'), encoding: 'base64' });
    return { entry, files, failurePatterns };
  }
  return {
    entry,
    files,
    failurePatterns,
    dialogue: {
      interrupt: uboot.interrupt,
      interruptKey: uboot.interruptKey,
      prompt: uboot.prompt,
      commands: renderUbootCommands(uboot.commands, facts, 'typed'),
      commandTimeoutMs: uboot.commandTimeoutS * 1000 * target.timeoutScale,
      interruptTimeoutMs: INTERRUPT_TIMEOUT_MS * target.timeoutScale,
      failurePatterns,
    },
  };
}

/** booti, bootz or bootm, by the kernel file's header; a kernel U-Boot cannot run (an x86 bzImage) is refused. */
async function bootCommandFor(kernelPath: string, imageName: string): Promise<string> {
  const format = await readKernelFormat(kernelPath);
  const command = ubootBootCommand(format);
  if (command) return command;
  if (format === 'x86-bzimage')
    throw new UsageError(
      `image ${imageName}: the kernel ${kernelPath} is an x86 bzImage, which a U-Boot board does not boot`,
    );
  // An unknown header (a compressed Image.gz, say) is left to booti; U-Boot's own error ends the boot if it is wrong.
  return 'booti';
}
