/**
 * The milestones and failure patterns that Linux and U-Boot boots share, as
 * data that image definitions build on (the vocabulary is in core/boot.ts).
 */
import type { FailurePattern, MilestoneSpec } from '../core/boot.js';

/** Failures every Linux boot watches for, whatever the image. */
export const linuxFailurePatterns: readonly FailurePattern[] = [
  { name: 'kernel panic', console: /Kernel panic - not syncing[^\n]*/ },
  { name: 'kernel Oops', console: /\bOops: [^\n]*\[#\d+\][^\n]*/ },
  { name: 'kernel BUG', console: /\bBUG: [^\n]*/ },
  { name: 'hung task', console: /INFO: task \S+ blocked for more than \d+ seconds/ },
];

/** Failures of the network boot loaders themselves. */
export const bootloaderFailurePatterns: readonly FailurePattern[] = [
  { name: 'iPXE boot failed', console: /Could not boot( image)?: [^\n]*/ },
  { name: 'iPXE no configuration', console: /No configuration methods succeeded/ },
  { name: 'PXE ROM error', console: /PXE-E[0-9A-F]{2}:[^\n]*/ },
  { name: 'pxelinux failed', console: /(Failed to load|Could not find kernel image): [^\n]*/ },
];

export const defaultFailurePatterns: readonly FailurePattern[] = [
  ...linuxFailurePatterns,
  ...bootloaderFailurePatterns,
];

/** The name of the generic milestone of the kernel handing over to init (or to the initramfs's init). */
export const INIT_STARTED = 'init started';

/**
 * The milestones that every netbooted Linux image passes, in order: the lease,
 * the kernel and initrd over the wire, the kernel's banner and the hand-over
 * to init. Image-specific milestones (a shell prompt, an installer screen)
 * follow them.
 */
export function linuxNetbootMilestones(
  timeouts: { leaseS?: number; kernelS?: number; initrdS?: number; bannerS?: number; initS?: number } = {},
): MilestoneSpec[] {
  return [
    { name: 'DHCP lease', event: 'lease', timeoutS: timeouts.leaseS ?? 60 },
    { name: 'kernel fetched', file: 'kernel', timeoutS: timeouts.kernelS ?? 60 },
    { name: 'initrd fetched', file: 'initrd', timeoutS: timeouts.initrdS ?? 120 },
    { name: 'Linux version', console: /Linux version \S+/, timeoutS: timeouts.bannerS ?? 60, enters: 'kernel' },
    { name: INIT_STARTED, console: /Run \S+ as init process/, timeoutS: timeouts.initS ?? 120 },
  ];
}

/**
 * The board mounted its root from the job's NFS server. A root the kernel
 * mounts comes before init starts; one the initramfs mounts, after its init
 * started and before the real init's ready line.
 */
export function rootMountedMilestone(timeoutS = 120): MilestoneSpec {
  return { name: 'root mounted', event: 'nfs-mount', timeoutS };
}

/**
 * U-Boot's own milestones, for boards that start in U-Boot: its banner (the
 * version line, "U-Boot 2023.01 (Jan 01 2023 - 00:00:00 +0000)"), the
 * autoboot countdown, and the hand-over to the kernel. SPL boards print a
 * first "U-Boot SPL 20..." banner; the milestone waits for the full one,
 * and for its whole line, so a banner read in pieces is reported whole.
 */
export function ubootMilestones(
  timeouts: { bannerS?: number; autobootS?: number; kernelS?: number } = {},
): MilestoneSpec[] {
  return [
    { name: 'U-Boot banner', console: /U-Boot 20\d\d\.\d\d[^\n]*(?=\n)/, timeoutS: timeouts.bannerS ?? 60 },
    { name: 'U-Boot autoboot', console: /Hit any key to stop autoboot/, timeoutS: timeouts.autobootS ?? 60 },
    { name: 'Starting kernel', console: /Starting kernel \.\.\./, timeoutS: timeouts.kernelS ?? 180 },
  ];
}

/** Failures U-Boot prints when a boot cannot go on. */
export const ubootFailurePatterns: readonly FailurePattern[] = [
  { name: 'U-Boot reset request', console: /### ERROR ### Please RESET the board ###/ },
  {
    name: 'U-Boot bad image',
    console:
      /(Wrong Image Format for \w+ command|Bad Linux ARM64 Image magic!|Bad Linux ARM zImage magic!|Bad Data CRC|Bad Header Checksum)/,
  },
  { name: 'U-Boot no kernel', console: /ERROR: can't get kernel image!/ },
  { name: 'U-Boot TFTP failed', console: /(TFTP error: [^\n]*|Retry count exceeded; starting again)/ },
  { name: 'U-Boot SPL failed', console: /SPL: failed to boot from all boot devices/ },
  { name: 'U-Boot data abort', console: /"Synchronous Abort" handler, esr 0x[0-9a-f]+|data abort\s*$/m },
  { name: 'U-Boot unknown command', console: /Unknown command '[^']*' - try 'help'/ },
  // What U-Boot says when it was handed a boot file it cannot run (an x86 pxelinux.0 for its EFI boot).
  { name: 'U-Boot not an EFI binary', console: /No UEFI binary known at [^\n]*/ },
];
