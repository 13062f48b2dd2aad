/**
 * Boot files by client architecture (DHCP option 93) against real parts:
 * - the job's dnsmasq answering busybox's udhcpc, which sends each option-93
 *   value (and the iPXE user class), in a client namespace this test makes;
 * - a QEMU board with OVMF (x86-64 UEFI, its own PXE client) that chainloads
 *   ipxe.efi from Debian's ipxe package over TFTP, then boots the busybox
 *   image over HTTP;
 * - the same OVMF board with loader 'pxelinux': GRUB's network image from
 *   grub-efi-amd64-signed, then grub/grub.cfg, kernel and initrd over TFTP;
 * - a QEMU board with SeaBIOS and its iPXE ROM, loader 'chainload': the ROM
 *   loads undionly.kpxe over TFTP, which takes its own lease and boots the
 *   image over HTTP.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../harness/core/events.js';
import { unpackPackage } from '../../harness/images/apt-packages.js';
import { biosPxeLoaders, ipxeChainLoaders } from '../../harness/images/pxe-loaders.js';
import { PxeServer } from '../../harness/pxe/pxe-server.js';
import { addClientHost, removeClientHost } from '../support/client-host.js';
import {
  events,
  hil,
  jobIdOf,
  NO_RESIDUE,
  residueOf,
  resultsDirOf,
  type LoggedEvent,
  writeTargetFile,
} from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let targetsDir: string;
let results: string;

function writeTarget(
  name: string,
  mac: string,
  firmware: 'bios' | 'uefi',
  loader: 'auto' | 'chainload' | 'pxelinux',
): void {
  const target = {
    name,
    description: `${firmware} board, loader ${loader}`,
    image: 'busybox',
    power: { driver: 'qemu', memoryMiB: 1024, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg', firmware },
    console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
    network: { kind: 'qemu-tap', mac },
    boot: { loader },
    // TCG on a shared host, and undionly.kpxe moves about 0.4 MB/s there: generous time for every milestone.
    timeoutScale: 5,
  };
  writeTargetFile(targetsDir, target);
}

beforeAll(async () => {
  targetsDir = files.tempDir('hil-targets-');
  results = files.results();
  writeTarget('arch-uefi', '52:54:00:ae:00:07', 'uefi', 'auto');
  writeTarget('arch-uefi-grub', '52:54:00:ae:00:08', 'uefi', 'pxelinux');
  writeTarget('arch-bios-chain', '52:54:00:ae:00:00', 'bios', 'chainload');
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

const served = (logged: LoggedEvent[]) =>
  logged.filter((e) => e.type === 'file-served').map((e) => `${e.protocol} ${e.path}`);

describe("the job's dnsmasq offers each architecture its boot file", () => {
  const jobId = `arch${process.pid}`;
  const clientNs = `hil-${jobId}-client`;
  const mac = '52:54:00:ae:00:99';
  let server: PxeServer;
  let workDir: string;
  let busybox: string;
  let script: string;

  beforeAll(async () => {
    busybox = join((await unpackPackage('busybox-static')).root, 'bin/busybox');
    workDir = files.tempDir('hil-arch-');
    script = join(workDir, 'udhcpc-script');
    writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "offered: $boot_file from $siaddr"\nexit 0\n', {
      mode: 0o755,
    });
    server = await PxeServer.start({
      jobId,
      workDir,
      bus: new EventBus(),
      board: { mac, ip: '10.42.0.10', hostname: 'board' },
      boot: { label: 'test', kernel: 'vmlinuz', cmdline: '' },
      files: [
        { name: 'vmlinuz', role: 'kernel', path: busybox },
        ...(await biosPxeLoaders()),
        ...(await ipxeChainLoaders()),
      ],
      loader: 'auto',
    });
    await addClientHost(server, clientNs, '0.0.0.0/32');
    await execa('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'address', mac]);
  }, 120_000);

  afterAll(async () => {
    await removeClientHost(clientNs);
    await server?.stop();
    expect(residueOf(jobId)).toEqual(NO_RESIDUE);
  });

  /** What dnsmasq offers a client sending these extra options (udhcpc -x). */
  async function offered(options: string[]): Promise<string> {
    const args = [
      'netns',
      'exec',
      clientNs,
      busybox,
      'udhcpc',
      '-i',
      'eth0',
      '-n',
      '-q',
      '-f',
      '-t',
      '5',
      '-T',
      '1',
      '-s',
      script,
      ...options.flatMap((o) => ['-x', o]),
    ];
    const result = await execa('ip', args, { reject: false });
    return /^offered: .*$/m.exec(result.stdout)?.[0] ?? `no offer (exit ${result.exitCode}): ${result.stderr}`;
  }

  it.each([
    ['x86 BIOS (0)', ['0x5d:0000'], 'offered: undionly.kpxe from 10.42.0.1'],
    ['x86-64 UEFI (7)', ['0x5d:0007'], 'offered: ipxe.efi from 10.42.0.1'],
    ['x86-64 UEFI (9)', ['0x5d:0009'], 'offered: ipxe.efi from 10.42.0.1'],
    ['x86-64 UEFI HTTP boot (16)', ['0x5d:0010'], 'offered: http://10.42.0.1/ipxe.efi from 10.42.0.1'],
    ['x86 UEFI (6), which has no loader here', ['0x5d:0006'], 'offered: pxelinux.0 from 10.42.0.1'],
    ['no option 93', [], 'offered: pxelinux.0 from 10.42.0.1'],
    ['iPXE on BIOS', ['0x5d:0000', '0x4d:69505845'], 'offered: http://10.42.0.1/boot.ipxe from 10.42.0.1'],
    ['iPXE on x86-64 UEFI', ['0x5d:0007', '0x4d:69505845'], 'offered: http://10.42.0.1/boot.ipxe from 10.42.0.1'],
  ])(
    '%s',
    async (_name, options, expected) => {
      expect(await offered(options)).toBe(expected);
    },
    30_000,
  );
});

describe('boot file by client architecture, on QEMU boards', () => {
  it('x86-64 UEFI (OVMF): the firmware chainloads ipxe.efi over TFTP, then iPXE boots the shell over HTTP', async () => {
    const run = await hil(['--target', 'arch-uefi', '--targets-dir', targetsDir, '--results', results]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const dir = resultsDirOf(run.stdout);
    const logged = events(dir);
    expect(served(logged)).toEqual(['tftp ipxe.efi', 'http /boot.ipxe', 'http /vmlinuz', 'http /initrd.cpio.gz']);
    expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toContain('shell prompt');
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 600_000);

  it("x86-64 UEFI (OVMF), loader 'pxelinux': GRUB over TFTP reads grub/grub.cfg, then kernel and initrd over TFTP", async () => {
    const run = await hil(['--target', 'arch-uefi-grub', '--targets-dir', targetsDir, '--results', results]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const dir = resultsDirOf(run.stdout);
    const logged = events(dir);
    // OVMF may abort its first transfer of grubx64.efi (it asks for the size first): only what was served counts.
    expect(served(logged)).toEqual([
      'tftp grubx64.efi',
      'tftp /grub/grub.cfg',
      'tftp /vmlinuz',
      'tftp /initrd.cpio.gz',
    ]);
    expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toContain('shell prompt');
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 600_000);

  it("BIOS, loader 'chainload': the iPXE ROM loads undionly.kpxe, which takes a lease and boots the shell over HTTP", async () => {
    const run = await hil(['--target', 'arch-bios-chain', '--targets-dir', targetsDir, '--results', results]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const dir = resultsDirOf(run.stdout);
    const logged = events(dir);
    expect(served(logged)).toEqual([
      'http /boot.ipxe',
      'tftp undionly.kpxe',
      'http /boot.ipxe',
      'http /vmlinuz',
      'http /initrd.cpio.gz',
    ]);
    // The ROM's lease, then undionly.kpxe's own before it fetches the script again.
    const steps = logged
      .filter((e) => e.type === 'lease' || e.type === 'file-served')
      .map((e) => (e.type === 'lease' ? 'lease' : String(e.path)));
    expect(steps.slice(0, 5)).toEqual(['lease', '/boot.ipxe', 'undionly.kpxe', 'lease', '/boot.ipxe']);
    expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toContain('shell prompt');
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 600_000);
});
