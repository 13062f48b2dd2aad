/**
 * A boot image: its files (made from Debian's packages by `prepare`, or the
 * job's own files named in an image file or on the command line), the kernel
 * command line, and the milestones and failure patterns that say whether it
 * booted. Image files (`defineImage({...})`) are loaded and checked by
 * load-image.ts, which turns an `ImageFile` into an `ImageDefinition`.
 */
import type { FailurePattern, FileRole, MilestoneEvent, MilestoneSpec, MilestoneState } from '../core/boot.js';
import type { ArtifactSource } from './artifacts.js';
import type { RootfsSource } from './rootfs-copy.js';

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
 * An image's SSH login: the harness's client key file (mode 0600), and the
 * board's host key: either where in the initramfs its SSH server reads it
 * (`hostKeyFile`: the image carries none, each job makes its own and appends
 * it to the initrd it serves, job-ssh.ts, so no two jobs or boards share one),
 * or the key the image's own root filesystem has (`hostKey`, an image file's
 * `ssh.hostKey`), pinned as it is.
 */
export type ImageSsh = { user: string; port: number; clientKeyPath: string } & (
  | {
      /** Path in the initramfs of the host key (dropbear's format), e.g. etc/dropbear/dropbear_ecdsa_host_key. */
      hostKeyFile: string;
    }
  | {
      /** The board's host key, "type base64". */
      hostKey: string;
    }
);

/** A milestone as an image file may write it: a console pattern as a RegExp or as a string. */
export type MilestoneInput = { name: string; timeoutS: number; enters?: MilestoneState } & (
  | { console: RegExp | string }
  | { event: MilestoneEvent }
  | { file: FileRole }
  | { ssh: number }
);

/** What "booted" means at the end of the image's milestones: a console line, or the board's SSH server answering. */
export type ReadyInput =
  | RegExp
  | string
  | { console: RegExp | string; timeoutS?: number }
  | { ssh: number | true; timeoutS?: number };

/**
 * An image file's default export. Give the files either by `artifacts`
 * (paths, relative to the image file) or by `prepare` (code that makes them,
 * as pxe-hil's own images do from Debian packages). Without `milestones`, a
 * generic Linux boot is watched (lease, files fetched, `Linux version`, init
 * started) and then `ready`.
 */
export type ImageFile = {
  name: string;
  description?: string;
  /** Kernel command line; the target's console setting and --append are added by the run. */
  cmdline?: string;
  /** Names under which kernel and initrd are served (default vmlinuz, initrd). */
  servedNames?: { kernel?: string; initrd?: string };
  artifacts?: {
    kernel?: string;
    initrd?: string;
    dtb?: string;
    /** Extra files served by name: { 'preseed.cfg': './preseed.cfg' }. */
    files?: Record<string, string>;
    /** The board's root file system, served over NFS by the job: a directory or a tarball (.tar, .tar.gz, .tar.xz, .tar.zst). */
    rootfs?: string;
  };
  /** How the board mounts its NFS root (with a rootfs); see docs/nfs-root.md. */
  nfsroot?: NfsRootOptions;
  prepare?: () => Promise<PreparedImage>;
  milestones?: MilestoneInput[];
  ready?: ReadyInput;
  /** Console lines that end the boot at once; default: Linux's and the network loaders' (boot-patterns.ts). */
  failurePatterns?: readonly { name: string; console: RegExp | string }[];
  /** The board's SSH login, for suites: its user, the harness's private key file, and the board's host key. */
  ssh?: { user: string; port?: number; privateKey: string; hostKey: string };
  /** For images made by `prepare`: whether the prepared image gives an SSH login (`PreparedImage.ssh`). */
  runsSsh?: boolean;
};

/** One job's SSH login: the image's user and client key, with the board's host key pinned ("type base64"). */
export type JobSsh = { user: string; port: number; clientKeyPath: string; hostKey: string; hostKeyFingerprint: string };

/**
 * How the board mounts its NFS root. 'initramfs': the initramfs mounts it
 * (Debian's boot=nfs); 'kernel': the kernel itself (CONFIG_ROOT_NFS and
 * CONFIG_IP_PNP). Default: 'initramfs' when the image has an initrd, else
 * 'kernel'. NFS version 3 (default) or 4.
 */
export type NfsRootOptions = { style?: NfsRootStyle; version?: 3 | 4 };
export type NfsRootStyle = 'initramfs' | 'kernel';

/** The board's root file system as asked for: checked to be a directory or a tarball, not yet copied. */
export type RootfsRequest = RootfsSource & {
  /** Who asked for it, for messages: '--rootfs', "image file images/x.ts, field 'artifacts.rootfs'". */
  origin: string;
};

/** An image as a run uses it: checked, with every default filled in. */
export type ImageDefinition = {
  name: string;
  description: string;
  cmdline: string;
  servedNames: { kernel: string; initrd: string };
  milestones: MilestoneSpec[];
  failurePatterns: readonly FailurePattern[];
  /** Files from the package cache (or the image file's own paths before they are pinned). */
  prepare(): Promise<PreparedImage>;
  /** The user's files this image serves: pinned by the run at job start. */
  artifacts: ArtifactSource[];
  /** The board's root file system, copied for the job at its start and served over NFS. */
  rootfs?: RootfsRequest;
  nfsroot?: NfsRootOptions;
  /** Kernel arguments from the command line (--append), after the image's and the generated ones. */
  append?: string;
  /** Whether the image gives the harness an SSH login, which suites need. */
  runsSsh: boolean;
  /** The image file it was loaded from, so a later run (`--no-boot`) loads it again. */
  file?: string;
};

/** Types an image file's default export: `export default defineImage({...})`. */
export function defineImage(image: ImageFile): ImageFile {
  return image;
}
