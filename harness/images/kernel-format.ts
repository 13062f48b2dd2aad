/**
 * What kind of kernel file a job serves, from its header, so that a U-Boot
 * board is told the boot command that runs it: an arm64 or RISC-V `Image`
 * runs with `booti`, a 32-bit ARM `zImage` with `bootz`, a legacy `uImage`
 * or a FIT image with `bootm`. An x86 `bzImage` is recognised to say it is
 * not for U-Boot's Arm commands.
 *
 * Reference: Linux Documentation/arch/arm64/booting.rst (Image header, magic
 * "ARM\x64" at 0x38), Documentation/arch/riscv/boot-image-header.rst ("RSC\x05"
 * at 0x38), arch/arm/boot/compressed/head.S (zImage magic 0x016f2818 at
 * 0x24), U-Boot include/image.h (IH_MAGIC 0x27051956) and doc/usage/fit
 * (a FIT image is a flattened device tree, magic 0xd00dfeed), Linux
 * Documentation/arch/x86/boot.rst ("HdrS" at 0x202).
 */
import { open } from 'node:fs/promises';

export type KernelFormat = 'arm64-image' | 'riscv-image' | 'arm-zimage' | 'uimage' | 'fit' | 'x86-bzimage' | 'unknown';

/** How much of the file the formats above need. */
const HEADER_BYTES = 0x210;

export function kernelFormatOf(header: Buffer): KernelFormat {
  const u32be = (offset: number) => (header.length >= offset + 4 ? header.readUInt32BE(offset) : undefined);
  const u32le = (offset: number) => (header.length >= offset + 4 ? header.readUInt32LE(offset) : undefined);
  if (u32be(0) === 0x27051956) return 'uimage';
  if (u32be(0) === 0xd00dfeed) return 'fit';
  if (u32le(0x38) === 0x644d5241) return 'arm64-image';
  if (u32le(0x38) === 0x05435352) return 'riscv-image';
  if (u32le(0x24) === 0x016f2818) return 'arm-zimage';
  if (header.subarray(0x202, 0x206).toString('latin1') === 'HdrS') return 'x86-bzimage';
  return 'unknown';
}

export async function readKernelFormat(path: string): Promise<KernelFormat> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(header, 0, HEADER_BYTES, 0);
    return kernelFormatOf(header.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}

/** U-Boot's command for a kernel format; undefined for one U-Boot's Arm and RISC-V boards do not run. */
export function ubootBootCommand(format: KernelFormat): 'booti' | 'bootz' | 'bootm' | undefined {
  switch (format) {
    case 'arm64-image':
    case 'riscv-image':
      return 'booti';
    case 'arm-zimage':
      return 'bootz';
    case 'uimage':
    case 'fit':
      return 'bootm';
    default:
      return undefined;
  }
}
