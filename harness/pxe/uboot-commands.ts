/**
 * U-Boot boot commands for the job's board, rendered from the job's facts:
 * the same command list is typed at the U-Boot prompt (interactive boot) or
 * packed by `mkimage` into the boot script U-Boot's distro boot fetches
 * (boot.scr.uimg). Rendering is pure; only `makeUbootScriptImage` runs a tool.
 *
 * A command template names the job's facts in braces, {serverIp}; U-Boot's
 * own variables keep U-Boot's syntax, ${kernel_addr_r}, and are left alone.
 *
 * Tested against: U-Boot 2023.01 (Debian 12 u-boot-qemu, qemu_arm64) and
 * mkimage from u-boot-tools 2023.01.
 * Reference: U-Boot docs "Distro boot" (bootcmd_dhcp, boot.scr.uimg, fdtfile,
 * the *_addr_r variables), "booti command", "tftpboot command", mkimage(1).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { run } from '../core/process.js';
import type { BootEntry } from './boot-config.js';

/** The name U-Boot's distro boot asks for over TFTP after its first DHCP (boot_script_dhcp). */
export const UBOOT_SCRIPT_NAME = 'boot.scr.uimg';

/** What a command template may name. */
export type UbootFacts = {
  serverIp: string;
  boardIp: string;
  mac: string;
  kernel: string;
  /** Served name of the initrd; '' when the image has none. */
  initrd: string;
  /** Served name of the device tree (dtb/<name>); '' when U-Boot's own tree is used. */
  dtb: string;
  /** Where the kernel finds its device tree: ${fdt_addr_r} for a served DTB, else U-Boot's own tree. */
  fdtAddr: string;
  cmdline: string;
  /** The command that runs the served kernel: booti (an arm64 or RISC-V Image), bootz (zImage) or bootm (uImage, FIT). */
  bootCommand: string;
  /** U-Boot's tftpblocksize and tftpwindowsize, as the target sets them. */
  tftpBlockSize: string;
  tftpWindowSize: string;
};

export const UBOOT_FACT_NAMES = [
  'serverIp',
  'boardIp',
  'mac',
  'kernel',
  'initrd',
  'dtb',
  'fdtAddr',
  'cmdline',
  'bootCommand',
  'tftpBlockSize',
  'tftpWindowSize',
] as const satisfies readonly (keyof UbootFacts)[];

/** Where a served DTB lives: U-Boot's distro boot asks for dtb/${fdtfile}. */
export function dtbServedName(fdtfile: string): string {
  return `dtb/${fdtfile}`;
}

export function ubootFacts(options: {
  entry: BootEntry;
  serverIp: string;
  boardIp: string;
  mac: string;
  fdtfile?: string;
  bootCommand?: string;
  /** The target's boot.uboot TFTP settings. */
  tftp: { blockSize: number; windowSize: number };
}): UbootFacts {
  const dtb = options.fdtfile ? dtbServedName(options.fdtfile) : (options.entry.fdt ?? '');
  return {
    serverIp: options.serverIp,
    boardIp: options.boardIp,
    mac: options.mac,
    kernel: options.entry.kernel,
    initrd: options.entry.initrd ?? '',
    dtb,
    fdtAddr: dtb ? '${fdt_addr_r}' : '${fdtcontroladdr}',
    cmdline: options.entry.cmdline,
    bootCommand: options.bootCommand ?? 'booti',
    tftpBlockSize: String(options.tftp.blockSize),
    tftpWindowSize: String(options.tftp.windowSize),
  };
}

/**
 * The default boot: U-Boot's TFTP block and window sizes (a U-Boot without
 * these variables ignores them), then TFTP the kernel, the device tree (when
 * served) and the initrd (last, so ${filesize} is its size), set the command
 * line, and run the kernel with the command its format needs (a FIT image
 * carries its own initrd and tree: bootm of the image alone).
 * Typed at the prompt, it asks DHCP first; as a boot script it runs after
 * distro boot's own DHCP, whose settings hold.
 */
export function defaultUbootCommands(facts: UbootFacts, how: 'typed' | 'script'): string[] {
  return [
    'setenv tftpblocksize {tftpBlockSize}',
    'setenv tftpwindowsize {tftpWindowSize}',
    ...(how === 'typed' ? ['setenv autoload no', 'dhcp'] : []),
    'setenv serverip {serverIp}',
    'tftpboot ${kernel_addr_r} {kernel}',
    ...(facts.dtb ? ['tftpboot ${fdt_addr_r} {dtb}'] : []),
    ...(facts.initrd ? ['tftpboot ${ramdisk_addr_r} {initrd}'] : []),
    "setenv bootargs '{cmdline}'",
    facts.bootCommand === 'bootm' && !facts.initrd && !facts.dtb
      ? '{bootCommand} ${kernel_addr_r}'
      : facts.initrd
        ? '{bootCommand} ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} {fdtAddr}'
        : '{bootCommand} ${kernel_addr_r} - {fdtAddr}',
  ];
}

/** Fills {fact} names in; an unknown name is a UsageError that lists the known ones. */
export function renderUbootCommand(template: string, facts: UbootFacts): string {
  return template.replace(/(?<!\$)\{(\w+)\}/g, (_, name: string) => {
    if (!(UBOOT_FACT_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(
        `U-Boot command '${template}' names {${name}}, which is not a job fact. Fix: use one of ${UBOOT_FACT_NAMES.map((n) => `{${n}}`).join(', ')}.`,
      );
    }
    return facts[name as keyof UbootFacts];
  });
}

export function renderUbootCommands(
  templates: readonly string[] | undefined,
  facts: UbootFacts,
  how: 'typed' | 'script',
): string[] {
  return (templates ?? defaultUbootCommands(facts, how)).map((t) => renderUbootCommand(t, facts));
}

/** The text of a boot script: the commands, one a line, after an echo that names the boot. */
export function renderUbootScript(label: string, commands: readonly string[]): string {
  return `${[`echo 'pxe-hil: booting ${label.replace(/'/g, '')}'`, ...commands].join('\n')}\n`;
}

/** Packs a script as a U-Boot legacy script image with mkimage (type script, no compression). */
export async function makeUbootScriptImage(script: string, arch: 'arm' | 'arm64', name: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'hil-uboot-script-'));
  try {
    const source = join(dir, 'boot.cmd');
    const image = join(dir, UBOOT_SCRIPT_NAME);
    await writeFile(source, script);
    await run(
      'mkimage',
      ['-A', arch, '-O', 'linux', '-T', 'script', '-C', 'none', '-n', name.slice(0, 31), '-d', source, image],
      { timeoutMs: 10_000 },
    );
    return await readFile(image);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
