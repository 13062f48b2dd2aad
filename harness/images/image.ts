/**
 * A boot image: how its kernel and initrd are made from Debian's packages,
 * the kernel command line, and the milestones and failure patterns that say
 * whether it booted.
 */
import type { FailurePattern, MilestoneSpec } from '../core/boot.js';

export type PreparedImage = {
  kernel: string;
  initrd?: string;
  /** What the files were made from, for reports: package names and versions. */
  provenance: string;
  /** The kernel's release (uname -r), where the image knows it. */
  kernelRelease?: string;
  /** How the harness logs in over SSH, for images that run an SSH server. */
  ssh?: ImageSsh;
  /** A directory of device trees (Debian's /usr/lib/linux-image-<release>), for targets that name one. */
  dtbDir?: string;
};

/**
 * An image's SSH login: the harness's client key file (mode 0600) and where
 * in the initramfs its SSH server reads its host key. The image carries no
 * host key: each job makes its own and appends it to the initrd it serves
 * (job-ssh.ts), so no two jobs or boards share one.
 */
export type ImageSsh = {
  user: string;
  port: number;
  clientKeyPath: string;
  /** Path in the initramfs of the host key (dropbear's format), e.g. etc/dropbear/dropbear_ecdsa_host_key. */
  hostKeyFile: string;
};

/** One job's SSH login: the image's, with the job's own host key pinned ("type base64"). */
export type JobSsh = ImageSsh & { hostKey: string; hostKeyFingerprint: string };

export type ImageDefinition = {
  name: string;
  description: string;
  /** Kernel command line; the target's console setting is appended by the run. */
  cmdline: string;
  /** Names under which kernel and initrd are served. */
  servedNames: { kernel: string; initrd?: string };
  milestones: MilestoneSpec[];
  failurePatterns: readonly FailurePattern[];
  prepare(): Promise<PreparedImage>;
  /** The image file it was loaded from (set by load-image.ts), so a later run can load it again. */
  file?: string;
};

export function defineImage(definition: ImageDefinition): ImageDefinition {
  return definition;
}
