/**
 * The kernel's format from its header, and the U-Boot command it gets: uImage
 * and FIT headers made by mkimage (u-boot-tools), the arm64 Image of Debian's
 * installer when the image cache has it, and the documented magics of the
 * others.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { kernelFormatOf, readKernelFormat, ubootBootCommand } from '../../harness/images/kernel-format.js';
import { renderUbootCommands, ubootFacts } from '../../harness/pxe/uboot-commands.js';

const dir = mkdtempSync(join(tmpdir(), 'hil-kernel-format-'));
const payload = join(dir, 'payload');
writeFileSync(payload, Buffer.alloc(4096, 0x5a));

function mkimage(name: string, args: string[]): string {
  const out = join(dir, name);
  execaSync('mkimage', [...args, '-d', payload, out]);
  return out;
}

function header(bytes: Record<number, Buffer>): Buffer {
  const buffer = Buffer.alloc(0x400);
  for (const [offset, value] of Object.entries(bytes)) value.copy(buffer, Number(offset));
  return buffer;
}

const facts = (bootCommand: string, initrd = 'initrd.gz', dtb = '') =>
  ubootFacts({
    entry: {
      label: 'x',
      kernel: 'vmlinuz',
      initrd: initrd || undefined,
      cmdline: 'console=ttyAMA0',
      fdt: dtb || undefined,
    },
    serverIp: '10.42.0.1',
    boardIp: '10.42.0.10',
    mac: '52:54:00:a1:00:32',
    bootCommand,
    tftp: { blockSize: 1468, windowSize: 16 },
  });

describe('kernel formats', () => {
  it('reads a legacy uImage made by mkimage as bootm', async () => {
    const uImage = mkimage('uImage', [
      '-A',
      'arm',
      '-O',
      'linux',
      '-T',
      'kernel',
      '-C',
      'none',
      '-a',
      '0x8000',
      '-e',
      '0x8000',
    ]);
    expect(await readKernelFormat(uImage)).toBe('uimage');
    expect(ubootBootCommand('uimage')).toBe('bootm');
  });

  it('reads a FIT image made by mkimage as bootm', async () => {
    const fit = mkimage('fit.itb', [
      '-f',
      'auto',
      '-A',
      'arm',
      '-O',
      'linux',
      '-T',
      'kernel',
      '-C',
      'none',
      '-a',
      '0x8000',
      '-e',
      '0x8000',
    ]);
    expect(await readKernelFormat(fit)).toBe('fit');
    expect(ubootBootCommand('fit')).toBe('bootm');
  });

  it('reads a zImage (magic 0x016f2818 at 0x24) as bootz, an arm64 Image as booti', () => {
    const magic = Buffer.alloc(4);
    magic.writeUInt32LE(0x016f2818);
    expect(kernelFormatOf(header({ 36: magic }))).toBe('arm-zimage');
    expect(ubootBootCommand('arm-zimage')).toBe('bootz');
    expect(kernelFormatOf(header({ 56: Buffer.from('ARM\x64', 'latin1') }))).toBe('arm64-image');
    expect(ubootBootCommand('arm64-image')).toBe('booti');
    expect(
      kernelFormatOf(header({ 48: Buffer.from('RISCV\0\0\0', 'latin1'), 56: Buffer.from('RSC\x05', 'latin1') })),
    ).toBe('riscv-image');
  });

  it('knows an x86 bzImage, which U-Boot is not asked to boot, and says unknown for anything else', () => {
    expect(kernelFormatOf(header({ 514: Buffer.from('HdrS') }))).toBe('x86-bzimage');
    expect(ubootBootCommand('x86-bzimage')).toBeUndefined();
    expect(kernelFormatOf(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))).toBe('unknown');
    expect(kernelFormatOf(Buffer.alloc(0))).toBe('unknown');
  });

  it('renders the default U-Boot boot with the command of the kernel format', () => {
    expect(renderUbootCommands(undefined, facts('bootz'), 'script').at(-1)).toBe(
      'bootz ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}',
    );
    expect(renderUbootCommands(undefined, facts('bootm'), 'script').at(-1)).toBe(
      'bootm ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}',
    );
    expect(renderUbootCommands(undefined, facts('booti', '', 'dtb/board.dtb'), 'typed').at(-1)).toBe(
      'booti ${kernel_addr_r} - ${fdt_addr_r}',
    );
    // A FIT image alone carries its own initrd and device tree.
    expect(renderUbootCommands(undefined, facts('bootm', ''), 'script').at(-1)).toBe('bootm ${kernel_addr_r}');
    expect(renderUbootCommands(['{bootCommand} ${loadaddr}'], facts('bootz'), 'typed')).toEqual(['bootz ${loadaddr}']);
  });
});
