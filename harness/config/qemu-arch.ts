/**
 * The architectures a QEMU board may name: the program (qemu-system-<arch>),
 * the machine it gets unless the target names one, the Debian package that
 * has the program, and Node's name for the architecture (a board of the
 * host's own architecture may use KVM).
 *
 * Reference: QEMU System Emulation user docs (targets: "virt" for Arm and
 * RISC-V, "pc" for x86, "pseries" for POWER, "s390-ccw-virtio"); Debian's
 * qemu-system-* package split.
 */
export type QemuArch = { program: string; machine?: string; debianPackage: string; nodeArch?: string };

const KNOWN: Readonly<Record<string, Omit<QemuArch, 'program'>>> = {
  x86_64: { machine: 'pc', debianPackage: 'qemu-system-x86', nodeArch: 'x64' },
  i386: { machine: 'pc', debianPackage: 'qemu-system-x86', nodeArch: 'ia32' },
  aarch64: { machine: 'virt', debianPackage: 'qemu-system-arm', nodeArch: 'arm64' },
  arm: { machine: 'virt', debianPackage: 'qemu-system-arm', nodeArch: 'arm' },
  riscv64: { machine: 'virt', debianPackage: 'qemu-system-misc', nodeArch: 'riscv64' },
  riscv32: { machine: 'virt', debianPackage: 'qemu-system-misc' },
  loongarch64: { machine: 'virt', debianPackage: 'qemu-system-misc', nodeArch: 'loong64' },
  ppc64: { machine: 'pseries', debianPackage: 'qemu-system-ppc', nodeArch: 'ppc64' },
  s390x: { machine: 's390-ccw-virtio', debianPackage: 'qemu-system-s390x', nodeArch: 's390x' },
};

/** What QEMU calls the board's architecture; unset is a PC. */
export function qemuArch(arch: string | undefined): QemuArch {
  const name = arch ?? 'x86_64';
  const known = KNOWN[name];
  return { program: `qemu-system-${name}`, ...(known ?? { debianPackage: 'qemu-system' }) };
}

/** Whether the board runs the host's own architecture (only then can KVM run it). */
export function isHostArch(arch: string | undefined, hostNodeArch: string = process.arch): boolean {
  return qemuArch(arch).nodeArch === hostNodeArch;
}

/** A PC (SeaBIOS or OVMF, the iPXE ROM): x86_64 and i386. */
export function isPc(arch: string | undefined): boolean {
  return qemuArch(arch).machine === 'pc';
}
