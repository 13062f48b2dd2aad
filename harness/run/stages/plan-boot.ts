/**
 * What the board will boot and how: the image's files (prepared from
 * Debian's packages or the user's), the network loaders, the boot entry with
 * its kernel command line, and what the bootloader needs (a U-Boot script,
 * device tree, or typed commands). Nothing is started here.
 */
import { rm, stat } from 'node:fs/promises';
import type { Target } from '../../config/target.js';
import type { FailurePattern, ServedFile } from '../../core/boot.js';
import type { JobSsh, PreparedImage } from '../../images/image.js';
import { fixedLogin, jobSsh } from '../../images/job-ssh.js';
import { biosPxeLoaders, ipxeChainLoaders, uefiGrubLoader } from '../../images/pxe-loaders.js';
import type { BootEntry } from '../../pxe/boot-config.js';
import { type LabNetworkConfig, planNetwork } from '../../pxe/lab-network.js';
import { UsageError } from '../../core/errors.js';
import { jobFilesDir } from '../../core/paths.js';
import { type PinnedArtifact, pinArtifacts } from '../../images/artifacts.js';
import type { BootloaderPlan } from '../bootloader-dialogue.js';
import { type JobContext, stage } from '../job-context.js';
import { prepareUbootBoot } from '../uboot-boot.js';
import { nfsRootStyleOf } from '../../images/image-file.js';
import { nfsRootArguments } from '../../pxe/nfs-root-cmdline.js';
import { describePinnedRootfs, NFS_ROOT_PATH, type PinnedRootfs, pinRootfs } from './rootfs.js';

/** The board as the job's DHCP server knows it. */
export type Board = { mac: string; ip: string; hostname: string };

export type BootPlan = {
  prepared: PreparedImage;
  board: Board;
  entry: BootEntry;
  /** Every file the job's PXE server serves. */
  files: ServedFile[];
  /** For a board whose bootloader is driven at its prompt. */
  dialogue?: BootloaderPlan;
  /** The SSH login of this job (the job's own host key pinned), for images that run an SSH server. */
  ssh?: JobSsh;
  failurePatterns: readonly FailurePattern[];
  /** The job's copy of the board's root file system, when it is served over NFS. */
  rootfs?: PinnedRootfs;
};

/** The board's fixed address in the job's private network. */
const BOARD_IP = '10.42.0.10';

export async function planBoot(job: JobContext): Promise<BootPlan> {
  const { target, image } = job;
  // pinRootfs after pinJobFiles: its teardown (keeping or removing the copy) then runs before theirs removes the folder.
  const [prepared, loaders, pinned, rootfs] = await stage(
    job,
    'images',
    `preparing image ${image.name}`,
    () => Promise.all([image.prepare(), pxeLoaders(target.boot.loader), pinJobFiles(job), pinRootfs(job)]),
    ([files, , own, root]) =>
      `image ${image.name}: ${[files.provenance, ...own.map(describePinned), ...(root ? [describePinnedRootfs(root)] : [])].join(', ')}`,
  );
  const files = bootFiles(job, prepared, pinned);
  const board = boardOf(target);
  const entry: BootEntry = {
    label: `${image.name} on ${target.name}`,
    kernel: files.kernel.name,
    initrd: files.initrd?.name,
    fdt: files.dtb?.name,
    cmdline: [
      image.cmdline,
      ...(rootfs ? nfsRootKernelArguments(job) : []),
      `console=${target.console.kernelConsole}`,
      target.kernelArgs,
      image.append,
    ]
      .filter(Boolean)
      .join(' '),
  };
  const bootloader = await prepareUbootBoot({
    target,
    entry,
    prepared,
    kernelPath: files.kernel.path,
    imageName: image.name,
    imageFailurePatterns: image.failurePatterns,
    serverIp: serverAddressOf(target, job.jobId),
    boardIp: board.ip,
  });
  const login = await sshLogin(job, prepared, files.initrd);
  return {
    prepared,
    ssh: login,
    board,
    entry: bootloader.entry,
    files: [...files.all, ...loaders, ...bootloader.files],
    dialogue: bootloader.dialogue,
    failurePatterns: bootloader.failurePatterns,
    rootfs,
  };
}

/**
 * The kernel arguments that mount the board's root from the job's NFS
 * server: by the initramfs or the kernel (nfsRootStyleOf), the board's
 * address by DHCP (the job's DHCP server gives it the one address the export
 * lets in). --append comes after them, so it can override any of them.
 */
export function nfsRootKernelArguments(job: Pick<JobContext, 'target' | 'image' | 'jobId'>): string[] {
  return nfsRootArguments({
    style: nfsRootStyleOf(job.image),
    serverIp: serverAddressOf(job.target, job.jobId),
    path: NFS_ROOT_PATH,
    version: job.image.nfsroot?.version,
    address: { kind: 'dhcp' },
  });
}

/** Copies the job's own files into the job (job start), each reported with its size and SHA-256. */
async function pinJobFiles(job: JobContext): Promise<PinnedArtifact[]> {
  if (job.image.artifacts.length === 0) return [];
  const dir = jobFilesDir(job.jobId);
  job.teardown.add("remove the job's copies of its files", () => rm(dir, { recursive: true, force: true }));
  const pinned = await pinArtifacts(job.image.artifacts, dir);
  for (const file of pinned)
    job.bus.emit({
      type: 'artifact',
      role: file.role,
      name: file.name,
      source: file.path,
      bytes: file.bytes,
      sha256: file.sha256,
    });
  return pinned;
}

/**
 * The job's SSH login, for an image that runs an SSH server: its own host key
 * pinned as it is, or (an image that takes the job's) a host key made for
 * this job and appended to the initrd as it is served.
 */
async function sshLogin(
  job: JobContext,
  prepared: PreparedImage,
  initrd: Served | undefined,
): Promise<JobSsh | undefined> {
  const ssh = prepared.ssh;
  if (!ssh) return undefined;
  if (!('hostKeyFile' in ssh)) return fixedLogin(ssh);
  if (!initrd) return undefined;
  const login = jobSsh(ssh, (await stat(initrd.path)).size);
  initrd.append = login.append.toString('base64');
  job.sshHostKey = login.ssh.hostKey;
  return login.ssh;
}

function describePinned(file: PinnedArtifact): string {
  return `${file.role} ${file.path} (${file.bytes} bytes, sha256 ${file.sha256.slice(0, 12)})`;
}

type Served = Extract<ServedFile, { path: string }>;

/** The files the image serves: the job's own copies where it has them, else the prepared (cached) ones. */
function bootFiles(job: JobContext, prepared: PreparedImage, pinned: PinnedArtifact[]) {
  const { image } = job;
  const own = (role: PinnedArtifact['role']) => pinned.find((file) => file.role === role);
  const served = (role: 'kernel' | 'initrd', name: string, path: string | undefined): Served | undefined =>
    path ? { name, role, path } : undefined;
  const kernel = served('kernel', image.servedNames.kernel, own('kernel')?.pinned ?? (prepared.kernel || undefined));
  if (!kernel)
    throw new UsageError(
      `image '${image.name}' has no kernel: give --kernel PATH, or 'artifacts.kernel' in its image file`,
    );
  const initrd = served('initrd', image.servedNames.initrd, own('initrd')?.pinned ?? prepared.initrd);
  const dtbFile = own('dtb');
  const dtb: Served | undefined = dtbFile && { name: dtbFile.name, role: 'other', path: dtbFile.pinned };
  const extra: Served[] = pinned
    .filter((f) => f.role === 'file')
    .map((f) => ({ name: f.name, role: 'other', path: f.pinned }));
  return { kernel, initrd, dtb, all: [kernel, ...(initrd ? [initrd] : []), ...(dtb ? [dtb] : []), ...extra] };
}

/** The address U-Boot is told to fetch from: the target's own on a lab network, else the job network's. */
export function serverAddressOf(target: Target, jobId: string): string {
  return planNetwork(jobId, labNetworkOf(target)).serverIp;
}

/** The lab network the target is wired to, or none (a QEMU board on the job's own tap). */
export function labNetworkOf(target: Target): LabNetworkConfig | undefined {
  return target.network.kind === 'lab' ? target.network : undefined;
}

/** On a lab network the board's address is the target's (dhcp mode) or the lab DHCP server's choice (proxy mode, known from no lease). */
export function boardOf(target: Target): Board {
  const network = target.network;
  const ip = network.kind === 'lab' ? (network.boardAddress ?? '') : BOARD_IP;
  return { mac: network.mac, ip, hostname: target.name };
}

/** The loader files a job serves: pxelinux always (clients of no known architecture get it); iPXE to chainload, or GRUB for UEFI with 'pxelinux'. */
async function pxeLoaders(loader: Target['boot']['loader']): Promise<ServedFile[]> {
  const [bios, more] = await Promise.all([
    biosPxeLoaders(),
    loader === 'pxelinux' ? uefiGrubLoader() : ipxeChainLoaders(),
  ]);
  return [...bios, ...more];
}
