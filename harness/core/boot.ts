/**
 * The boot vocabulary every layer speaks: the roles of served files, the
 * board's boot states, milestones (reached by console text, a DHCP lease, or a
 * boot file being served) and failure patterns (console text that ends the
 * wait at once).
 */
export type FileRole = 'bootloader' | 'boot-config' | 'kernel' | 'initrd' | 'other';

/**
 * A console line, an event of the job's servers (the board's DHCP lease; the
 * board mounting its NFS root from the job), a boot file served, or the
 * board's SSH server answering on a port.
 */
export type MilestoneTrigger = { console: RegExp } | { event: MilestoneEvent } | { file: FileRole } | { ssh: number };

export type MilestoneEvent = 'lease' | 'nfs-mount';

/** The board states a boot passes (harness/run/boot-states.ts). */
export type BootState = 'off' | 'bootloader' | 'kernel' | 'shell' | 'suites' | 'unknown';

/** The states a milestone can put the board in. */
export type MilestoneState = 'bootloader' | 'kernel' | 'shell';

/** `enters`: reaching this milestone puts the board in that state. */
export type MilestoneSpec = { name: string; timeoutS: number; enters?: MilestoneState } & MilestoneTrigger;

export type FailurePattern = { name: string; console: RegExp };

/**
 * One file a job's PXE server may serve: a file on disk or generated content.
 * `append` (base64) is served after a file's own bytes: what one job adds to
 * a shared cached file (a per-job archive after a cached initramfs) without
 * copying or changing it.
 */
export type ServedFile =
  | { name: string; role: FileRole; path: string; append?: string }
  | { name: string; role: FileRole; content: string; encoding?: 'utf8' | 'base64' };
