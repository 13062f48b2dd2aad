/**
 * What the board will boot and how: the image's files (prepared from
 * Debian's packages or the user's), the network loaders, the boot entry with
 * its kernel command line, and what the bootloader needs (a U-Boot script,
 * device tree, or typed commands). Nothing is started here.
 */
import { stat } from 'node:fs/promises';
import type { Target } from '../../config/target.js';
import type { FailurePattern, ServedFile } from '../../core/boot.js';
import type { JobSsh, PreparedImage } from '../../images/image.js';
import { jobSsh } from '../../images/job-ssh.js';
import { biosPxeLoaders, ipxeChainLoaders, uefiGrubLoader } from '../../images/pxe-loaders.js';
import type { BootEntry } from '../../pxe/boot-config.js';
import { planJobNetwork } from '../../pxe/netns.js';
import type { BootloaderPlan } from '../bootloader-dialogue.js';
import { type JobContext, stage } from '../job-context.js';
import { prepareUbootBoot } from '../uboot-boot.js';

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
};

/** The board's fixed address in the job's private network. */
const BOARD_IP = '10.42.0.10';

export async function planBoot(job: JobContext): Promise<BootPlan> {
  const { target, image } = job;
  const [prepared, loaders] = await stage(
    job,
    'images',
    `preparing image ${image.name}`,
    () => Promise.all([image.prepare(), pxeLoaders(target.boot.loader)]),
    ([files]) => `image ${image.name}: ${files.provenance}`,
  );
  const board = boardOf(target);
  const names = image.servedNames;
  const entry: BootEntry = {
    label: `${image.name} on ${target.name}`,
    kernel: names.kernel,
    initrd: prepared.initrd ? names.initrd : undefined,
    cmdline: [image.cmdline, `console=${target.console.kernelConsole}`, target.kernelArgs].filter(Boolean).join(' '),
  };
  const bootloader = await prepareUbootBoot({
    target,
    entry,
    prepared,
    imageName: image.name,
    imageFailurePatterns: image.failurePatterns,
    serverIp: planJobNetwork(job.jobId).serverIp,
    boardIp: board.ip,
  });
  const imageFiles: ServedFile[] = [{ name: names.kernel, role: 'kernel', path: prepared.kernel }];
  // The job's own SSH host key, appended to the shared initrd as it is served.
  const login = prepared.ssh && prepared.initrd ? jobSsh(prepared.ssh, (await stat(prepared.initrd)).size) : undefined;
  job.sshHostKey = login?.ssh.hostKey;
  if (prepared.initrd && names.initrd)
    imageFiles.push({
      name: names.initrd,
      role: 'initrd',
      path: prepared.initrd,
      ...(login ? { append: login.append.toString('base64') } : {}),
    });
  return {
    prepared,
    ssh: login?.ssh,
    board,
    entry: bootloader.entry,
    files: [...imageFiles, ...loaders, ...bootloader.files],
    dialogue: bootloader.dialogue,
    failurePatterns: bootloader.failurePatterns,
  };
}

/** On a lab network the board's address is the target's (dhcp mode) or the lab DHCP server's choice (proxy mode, known from no lease). */
function boardOf(target: Target): Board {
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
