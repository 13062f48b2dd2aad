/**
 * Which boot file a network boot client gets, by the architecture it sends in
 * DHCP option 93 (client system architecture). The table is data: one row per
 * kind of firmware, with its option-93 numbers and the file it is given for
 * each loader choice. Pure.
 *
 * Loader choices (a target's `boot.loader`):
 * - 'auto': a firmware PXE ROM is given iPXE from Debian's `ipxe` package
 *   (BIOS: undionly.kpxe, x86-64 UEFI: ipxe.efi) over TFTP; that iPXE (user
 *   class "iPXE") then gets the job's boot.ipxe and fetches kernel and initrd
 *   over HTTP. A ROM that is iPXE already gets boot.ipxe at once.
 * - 'chainload': as 'auto', and a BIOS iPXE ROM too first loads Debian's
 *   undionly.kpxe (the job's boot.ipxe chains it), for boards whose iPXE ROM
 *   is old or broken.
 * - 'pxelinux': BIOS gets pxelinux.0, x86-64 UEFI gets GRUB's network image
 *   (it reads grub/grub.cfg), and everything comes over TFTP.
 *
 * Reference: RFC 4578 (option 93), IANA "Processor Architecture Types"
 * registry (0 x86 BIOS, 6 x86 UEFI, 7 and 9 x64 UEFI, 16 x64 UEFI HTTP);
 * UEFI 2.x spec 24.7 (HTTP boot: vendor class "HTTPClient", URL as boot file).
 */

export type LoaderChoice = 'auto' | 'chainload' | 'pxelinux';

/** iPXE from Debian's package, for the loader choices that end in iPXE. */
const viaIpxe = (file: string) => ({ auto: file, chainload: file });

export type ClientArch = {
  /** dnsmasq tag set for clients of this architecture. */
  tag: string;
  description: string;
  /** Option-93 values that mean this architecture. */
  codes: number[];
  /** How the firmware fetches its boot file: TFTP (PXE) or HTTP (UEFI HTTP boot: the boot file is a URL). */
  over: 'tftp' | 'http';
  /** The boot file served to this firmware for each loader choice; absent when the harness has none for it. */
  bootFile: Partial<Record<LoaderChoice, string>>;
};

export const CLIENT_ARCHES: readonly ClientArch[] = [
  {
    tag: 'arch-bios',
    description: 'x86 BIOS PXE ROM',
    codes: [0],
    over: 'tftp',
    bootFile: { ...viaIpxe('undionly.kpxe'), pxelinux: 'pxelinux.0' },
  },
  { tag: 'arch-efi-ia32', description: 'x86 (32-bit) UEFI PXE', codes: [6], over: 'tftp', bootFile: {} },
  {
    tag: 'arch-efi-x64',
    description: 'x86-64 UEFI PXE',
    codes: [7, 9],
    over: 'tftp',
    bootFile: { ...viaIpxe('ipxe.efi'), pxelinux: 'grubx64.efi' },
  },
  {
    tag: 'arch-efi-x64-http',
    description: 'x86-64 UEFI HTTP boot',
    codes: [16],
    over: 'http',
    bootFile: viaIpxe('ipxe.efi'),
  },
];

/** dnsmasq's names of the PXE client system types (--pxe-service CSA), by option-93 value. */
export const PXE_SERVICE_TYPES: Readonly<Record<number, string>> = {
  0: 'x86PC',
  6: 'IA32_EFI',
  7: 'BC_EFI',
  9: 'X86-64_EFI',
  10: 'ARM32_EFI',
  11: 'ARM64_EFI',
};

/** One architecture's answer: the tag its option-93 values set, and the file (a name, or a URL for HTTP boot) it is offered. */
export type ArchBoot = { tag: string; codes: number[]; over: 'tftp' | 'http'; file: string };

/**
 * The per-architecture boot files for a loader choice, keeping only those
 * whose file the job serves (`served`: the names in its file table).
 */
export function archBootFiles(
  loader: LoaderChoice,
  served: Iterable<string>,
  baseUrl: string,
  arches: readonly ClientArch[] = CLIENT_ARCHES,
): ArchBoot[] {
  const names = new Set(served);
  const boots: ArchBoot[] = [];
  for (const arch of arches) {
    const file = arch.bootFile[loader];
    if (!file || !names.has(file)) continue;
    boots.push({
      tag: arch.tag,
      codes: arch.codes,
      over: arch.over,
      file: arch.over === 'http' ? `${baseUrl}/${file}` : file,
    });
  }
  return boots;
}
