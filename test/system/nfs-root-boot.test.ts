/**
 * Two boards boot at once with their root file systems on their jobs' NFS
 * exports: a Debian 12 root made by mmdebstrap (test/support/nfs-rootfs.ts),
 * given to one job as a directory and to the other as a tarball. Each QEMU
 * guest (TCG) boots Debian's cloud kernel with the root's own initramfs and
 * the kernel arguments of nfs-root-cmdline.ts, in its job's namespace; each
 * reaches its ready line, answers SSH, sees its own job's root only, and
 * writes into its job's copy; the roots given stay byte for byte as they were.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, startChild } from '../../harness/core/process.js';
import {
  directoryDigest,
  type JobRootfs,
  makeJobRootfs,
  removeJobRootfs,
  type RootfsSource,
  tarballDigest,
} from '../../harness/images/rootfs-copy.js';
import { createJobNetwork, type JobNetwork, planJobNetwork, removeJobNetwork } from '../../harness/pxe/netns.js';
import { nfsRootArguments } from '../../harness/pxe/nfs-root-cmdline.js';
import { type NfsLogEvent, type NfsServer, startNfsServer } from '../../harness/pxe/nfs-server.js';
import { NO_RESIDUE, residueOf } from '../support/hil.js';
import { alive, hostMountsNaming } from '../support/nfs-peers.js';
import { buildTestRootfs, ROOTFS_READY_LINE, type TestRootfs } from '../support/nfs-rootfs.js';

const BOARD_IP = '10.42.0.10';

type Board = {
  name: string;
  net: JobNetwork;
  dir: string;
  copy: JobRootfs;
  server: NfsServer;
  events: NfsLogEvent[];
  qemu?: Child;
  console: string[];
  readyAfterMs?: number;
};

let rootfs: TestRootfs;
let work: string;
let givenDir: string;
let givenTarball: string;
const boards: Board[] = [];
const digests: Record<string, unknown> = {};

/** Writes a file into the job's copy before the board boots: into the overlay's upper layer, or the copy itself. */
async function writeIntoCopy(copy: JobRootfs, path: string, text: string): Promise<void> {
  const base = copy.kind === 'overlay' ? copy.upper : copy.exportPath;
  await mkdir(join(base, path, '..'), { recursive: true });
  await writeFile(join(base, path), text);
}

/** Where a file the board wrote lands: the overlay's upper layer, or the copy itself. */
function landed(copy: JobRootfs, path: string): string {
  return join(copy.kind === 'overlay' ? copy.upper : copy.exportPath, path);
}

async function prepareBoard(name: string, source: RootfsSource): Promise<Board> {
  const net = planJobNetwork(`nfsroot${name}${process.pid}`);
  await createJobNetwork(net);
  const dir = join(work, name);
  await mkdir(join(dir, 'nfs'), { recursive: true });
  const copy = await makeJobRootfs(source, join(dir, 'rootfs'));
  await writeIntoCopy(copy, 'etc/pxe-hil-job', `root of job ${name}\n`);
  const events: NfsLogEvent[] = [];
  const server = await startNfsServer(
    {
      netns: net.netns,
      serverIp: net.serverIp,
      clientIp: BOARD_IP,
      exportPath: copy.exportPath,
      pseudoPath: '/rootfs',
      stateDir: join(dir, 'nfs'),
      overlay: copy.kind === 'overlay' ? { lower: copy.lower, upper: copy.upper, work: copy.work } : undefined,
    },
    { onEvent: (event) => events.push(event) },
  );
  const board: Board = { name, net, dir, copy, server, events, console: [] };
  boards.push(board);
  return board;
}

function boot(board: Board): Promise<void> {
  const cmdline = [
    'console=ttyS0',
    ...nfsRootArguments({
      style: 'initramfs',
      serverIp: board.net.serverIp,
      path: '/rootfs',
      address: { kind: 'static', ip: BOARD_IP, prefixLength: 24, hostname: `board-${board.name}` },
    }),
  ].join(' ');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    board.qemu = startChild(
      'qemu',
      'qemu-system-x86_64',
      [
        ...['-name', `hil-${board.net.netns}`, '-machine', 'pc,accel=tcg', '-m', '1024', '-nodefaults'],
        ...['-no-user-config', '-display', 'none', '-serial', 'stdio', '-no-reboot'],
        ...['-kernel', rootfs.kernel, '-initrd', rootfs.initrd, '-append', cmdline],
        ...['-netdev', `tap,id=n0,ifname=${board.net.tap},script=no,downscript=no`],
        ...['-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:4e:46:10'],
      ],
      {
        netns: board.net.netns,
        onStdoutLine: (line) => {
          board.console.push(line);
          if (line.includes(ROOTFS_READY_LINE)) {
            board.readyAfterMs = performance.now() - started;
            resolve();
          }
        },
      },
    );
    board.qemu.exited.then(() =>
      reject(new Error(`board ${board.name} stopped: ${board.console.slice(-5).join(' | ')}`)),
    );
  });
}

async function ssh(board: Board, command: string): Promise<string> {
  const knownHosts = join(board.dir, 'known_hosts');
  await writeFile(knownHosts, `${BOARD_IP} ${rootfs.ssh.hostKey}\n`);
  const args = [
    ...['netns', 'exec', board.net.netns, 'ssh', '-i', rootfs.ssh.clientKeyPath, '-o', 'BatchMode=yes'],
    ...['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ConnectTimeout=10'],
    `${rootfs.ssh.user}@${BOARD_IP}`,
    command,
  ];
  // dropbear starts beside the getty; give it a few tries.
  for (let attempt = 1; ; attempt++) {
    const result = await execa('ip', args, { reject: false, timeout: 60_000 });
    if (result.exitCode === 0 || attempt === 5) {
      if (result.exitCode !== 0) throw new Error(`ssh to board ${board.name} failed: ${result.stderr}`);
      return String(result.stdout);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

beforeAll(async () => {
  rootfs = await buildTestRootfs();
  work = await mkdtemp(join('/var/tmp', 'hil-nfsroot-'));
  givenTarball = rootfs.tarball;
  givenDir = join(work, 'given-root');
  await mkdir(givenDir);
  await execa('tar', [
    '--extract',
    `--file=${givenTarball}`,
    `--directory=${givenDir}`,
    '--numeric-owner',
    '--xattrs',
    '--xattrs-include=*',
    '-p',
  ]);
  digests.dirBefore = await directoryDigest(givenDir);
  digests.tarBefore = await tarballDigest(givenTarball);
}, 900_000);

afterAll(async () => {
  for (const board of boards) {
    await board.qemu?.stop(2000);
    await board.server.stop();
    await removeJobNetwork(board.net.netns);
    await removeJobRootfs(join(board.dir, 'rootfs'));
  }
  if (work) await rm(work, { recursive: true, force: true });
  for (const board of boards) expect(residueOf(`nfsroot${board.name}${process.pid}`)).toEqual(NO_RESIDUE);
}, 120_000);

describe('two boards with NFS roots at once', () => {
  it('boot to their ready lines with their roots mounted from their own jobs', async () => {
    const a = await prepareBoard('a', { kind: 'directory', path: givenDir });
    const b = await prepareBoard('b', { kind: 'tarball', path: givenTarball, compression: 'none' });
    expect(b.copy).toEqual({ kind: 'copy', method: 'unpack', exportPath: join(b.dir, 'rootfs', 'root') });
    await Promise.all([boot(a), boot(b)]);
    for (const board of [a, b]) {
      expect(board.events[0]).toEqual({ kind: 'mount', version: 3, client: BOARD_IP, path: '/rootfs' });
      expect(board.console.some((line) => /IP-Config: eth0 complete/.test(line))).toBe(true);
      process.stdout.write(
        `board ${board.name} (${board.copy.kind}): ready line after ${((board.readyAfterMs ?? 0) / 1000).toFixed(1)} s\n`,
      );
    }
  }, 600_000);

  it('answer SSH, each seeing its own root, and write into their own copies only', async () => {
    const [a, b] = boards as [Board, Board];
    const seen = await Promise.all(
      [a, b].map((board) =>
        ssh(
          board,
          `cat /etc/pxe-hil-job && hostname && echo "written by the suite on ${board.name}" > /root/from-suite && sync && grep ' / ' /proc/mounts`,
        ),
      ),
    );
    expect(seen[0]!.split('\n').slice(0, 2)).toEqual(['root of job a', 'hil-nfs']);
    expect(seen[1]!.split('\n').slice(0, 2)).toEqual(['root of job b', 'hil-nfs']);
    for (const text of seen) {
      const [source, target, type, options] = text.split('\n')[2]!.split(' ');
      expect([source, target, type]).toEqual(['10.42.0.1:/rootfs', '/', 'nfs']);
      const wanted = ['rw', 'vers=3', 'proto=tcp', 'nolock', 'noacl'];
      expect(wanted.filter((option) => options!.split(',').includes(option))).toEqual(wanted);
    }
    expect(await readFile(landed(a.copy, 'root/from-suite'), 'utf8')).toBe('written by the suite on a\n');
    expect(await readFile(landed(b.copy, 'root/from-suite'), 'utf8')).toBe('written by the suite on b\n');
    expect(await readdir(join(givenDir, 'root'))).not.toContain('from-suite');
  }, 300_000);

  it('leave the roots given byte for byte as they were, and nothing behind', async () => {
    for (const board of boards) {
      await board.qemu?.stop(2000);
      const pids = [board.server.ganesha.pid, board.server.rpcbind.pid];
      await board.server.stop();
      expect(pids.map(alive)).toEqual([false, false]);
    }
    expect(await hostMountsNaming('pxe-hil-')).toEqual([]);
    expect(await directoryDigest(givenDir)).toEqual(digests.dirBefore);
    expect(await tarballDigest(givenTarball)).toEqual(digests.tarBefore);
  }, 120_000);
});
