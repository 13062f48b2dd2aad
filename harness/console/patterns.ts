/**
 * Milestones and failure patterns as data. A milestone is reached by console
 * text, by a DHCP lease, or by a boot file being served; a failure pattern is
 * console text that ends the wait at once.
 */
export type FileRole = 'bootloader' | 'boot-config' | 'kernel' | 'initrd' | 'other';

export type MilestoneTrigger =
  | { console: RegExp }
  | { event: 'lease' }
  | { file: FileRole };

export type MilestoneSpec = { name: string; timeoutS: number } & MilestoneTrigger;

export type FailurePattern = { name: string; console: RegExp };

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

export const defaultFailurePatterns: readonly FailurePattern[] = [...linuxFailurePatterns, ...bootloaderFailurePatterns];

/**
 * The milestones that every netbooted Linux image passes, in order: the lease,
 * the kernel and initrd over the wire, the kernel's banner and the hand-over
 * to init. Image-specific milestones (a shell prompt, an installer screen)
 * follow them.
 */
export function linuxNetbootMilestones(timeouts: {
  leaseS?: number;
  kernelS?: number;
  initrdS?: number;
  bannerS?: number;
  initS?: number;
} = {}): MilestoneSpec[] {
  return [
    { name: 'DHCP lease', event: 'lease', timeoutS: timeouts.leaseS ?? 60 },
    { name: 'kernel fetched', file: 'kernel', timeoutS: timeouts.kernelS ?? 60 },
    { name: 'initrd fetched', file: 'initrd', timeoutS: timeouts.initrdS ?? 120 },
    { name: 'Linux version', console: /Linux version \S+/, timeoutS: timeouts.bannerS ?? 60 },
    { name: 'init started', console: /Run \S+ as init process/, timeoutS: timeouts.initS ?? 120 },
  ];
}
