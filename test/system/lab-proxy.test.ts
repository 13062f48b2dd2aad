/**
 * Real-hardware networking, in a namespace the test creates: a "lab" bridge
 * with a plain dnsmasq as the lab's DHCP server (addresses only, no boot
 * information) and a tap for each QEMU board. Two jobs serve on that one
 * bridge at once, each from a macvlan in its own namespace, in proxyDHCP
 * mode. Each board leases its address from the lab server and boots from
 * its own job; the other job never sees it (each job's namespace lets in
 * only its board's frames); a third board with an unknown MAC gets its
 * address from the lab server but no boot offer from either job.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { startChild, type Child } from '../../harness/core/process.js';
import {
  events,
  hil,
  jobIdOf,
  NO_RESIDUE,
  residueOf,
  resultsDirOf,
  startHil,
  writeTargetFile,
} from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

// Not "hil-<job id>": a job's id is 8 hex digits, so stale-job recovery never takes this for a job's namespace.
const LAB = `hil-test-lab-${process.pid}`;
const BRIDGE = 'labbr0';
const LAB_SERVER = '192.168.77.1';
const BOARDS = [
  { name: 'lab-proxy-a', mac: '52:54:00:b7:00:0a', tap: 'tapa', serverAddress: '192.168.77.251/24' },
  { name: 'lab-proxy-b', mac: '52:54:00:b7:00:0b', tap: 'tapb', serverAddress: '192.168.77.252/24' },
];
const STRANGER = { mac: '52:54:00:b7:00:0c', tap: 'tapc' };
// A UEFI board: OVMF's own PXE client, not iPXE.
const UEFI_BOARD = {
  name: 'lab-proxy-uefi',
  mac: '52:54:00:b7:00:0d',
  tap: 'tapu',
  serverAddress: '192.168.77.253/24',
};

const files = suiteScope();
let dir: string;
let results: string;
let labDhcp: Child | undefined;
let stranger: Child | undefined;
const labLog: string[] = [];

async function ipBatch(commands: string[]): Promise<void> {
  await execa('ip', ['-n', LAB, '-batch', '-'], { input: `${commands.join('\n')}\n` });
}

beforeAll(async () => {
  dir = files.tempDir('hil-lab-proxy-');
  results = files.results();
  await execa('ip', ['netns', 'add', LAB]);
  files.defer(() => execa('ip', ['netns', 'del', LAB], { reject: false }));
  await ipBatch([
    'link set lo up',
    `link add ${BRIDGE} type bridge forward_delay 0 stp_state 0`,
    `addr add ${LAB_SERVER}/24 dev ${BRIDGE}`,
    `addr add fd77::1/64 dev ${BRIDGE} nodad`,
    `link set ${BRIDGE} up`,
    ...[...BOARDS, STRANGER, UEFI_BOARD].flatMap((b) => [
      `tuntap add dev ${b.tap} mode tap`,
      `link set ${b.tap} master ${BRIDGE}`,
      `link set ${b.tap} up`,
    ]),
  ]);
  // The lab's own DHCP server: addresses for anyone, no boot information; and an IPv6 router's
  // advertisements, as many labs have (iPXE otherwise waits ~13 s for IPv6 autoconfiguration).
  let ready: () => void = () => {};
  const started = new Promise<void>((resolve) => (ready = resolve));
  labDhcp = startChild(
    'lab-dhcp',
    'dnsmasq',
    [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--port=0',
      '--log-dhcp',
      '--log-facility=-',
      `--interface=${BRIDGE}`,
      '--bind-interfaces',
      `--dhcp-leasefile=${join(dir, 'lab.leases')}`,
      `--pid-file=${join(dir, 'lab-dhcp.pid')}`,
      '--dhcp-range=192.168.77.100,192.168.77.150,255.255.255.0,1h',
      '--enable-ra',
      '--dhcp-range=fd77::,ra-only,64',
    ],
    {
      netns: LAB,
      onStderrLine: (line) => {
        labLog.push(line);
        if (/DHCP, IP range/.test(line)) ready();
      },
    },
  );
  files.defer(() => labDhcp?.stop(2000));
  // The unknown board a test starts, should the test end before it stops it.
  files.defer(() => stranger?.stop(2000));
  await Deadline.in(10_000, 'the lab DHCP server').race(started);
  for (const board of BOARDS) {
    const target = {
      name: board.name,
      description: `QEMU board on a shared lab bridge, proxyDHCP (${board.mac})`,
      image: 'busybox',
      power: { driver: 'qemu', memoryMiB: 512, accel: 'tcg', tap: { name: board.tap, netns: LAB } },
      console: { kind: 'qemu-socket' },
      network: {
        kind: 'lab',
        interface: BRIDGE,
        netns: LAB,
        mode: 'proxy',
        serverAddress: board.serverAddress,
        mac: board.mac,
      },
      // Two TCG boards (and a third) share the host's cores.
      timeoutScale: 5,
    };
    writeTargetFile(dir, target);
  }
  const uefi = {
    name: UEFI_BOARD.name,
    description: `OVMF board on a shared lab bridge, proxyDHCP (${UEFI_BOARD.mac})`,
    image: 'busybox',
    power: {
      driver: 'qemu',
      memoryMiB: 512,
      accel: 'tcg',
      firmware: 'uefi',
      nic: 'virtio-net-pci',
      tap: { name: UEFI_BOARD.tap, netns: LAB },
    },
    console: { kind: 'qemu-socket' },
    network: {
      kind: 'lab',
      interface: BRIDGE,
      netns: LAB,
      mode: 'proxy',
      serverAddress: UEFI_BOARD.serverAddress,
      mac: UEFI_BOARD.mac,
    },
    timeoutScale: 5,
  };
  writeTargetFile(dir, uefi);
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

/** Starts the unknown board: iPXE from QEMU's ROM, its serial output (BIOS and iPXE) to a file. */
function startStranger(): Child {
  const sercon = join(dir, 'sercon-port');
  writeFileSync(sercon, Buffer.from([0xf8, 0x03]));
  return startChild(
    'stranger',
    'qemu-system-x86_64',
    [
      '-name',
      `hil-test-lab-stranger-${process.pid}`,
      '-machine',
      'pc,accel=tcg',
      '-m',
      '256',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-fw_cfg',
      `name=etc/sercon-port,file=${sercon}`,
      '-serial',
      `file:${join(dir, 'stranger.log')}`,
      '-netdev',
      `tap,id=net0,ifname=${STRANGER.tap},script=no,downscript=no`,
      '-device',
      `virtio-net-pci,netdev=net0,mac=${STRANGER.mac}`,
      '-boot',
      'order=n,strict=on,menu=off',
    ],
    { netns: LAB },
  );
}

const strangerLog = () => {
  try {
    return readFileSync(join(dir, 'stranger.log'), 'utf8');
  } catch {
    return '';
  }
};

describe('two jobs in proxyDHCP mode on one shared lab bridge', () => {
  it('boots each board from its own job; the lab server gives the addresses; an unknown board gets no boot offer', async () => {
    const held = new Set<string>();
    let ended = '';
    const jobs: ResultPromise[] = BOARDS.map((board) => {
      const job = startHil(
        ['--target', board.name, '--targets-dir', dir, '--image', 'busybox', '--keep-up', '--results', results],
        {
          onLine: (line) => void (/hold\s+target up for --no-boot suite runs/.test(line) && held.add(board.name)),
        },
      );
      void job.then(
        (result) =>
          (ended ||= `${board.name} ended early (exit ${result.exitCode}): ${String(result.stdout).split('\n').slice(-4).join(' | ')}`),
      );
      return job;
    });
    try {
      await Deadline.in(480_000, 'both boards to boot and be held up').poll(() => {
        if (ended) throw new Error(ended);
        return held.size === BOARDS.length ? true : undefined;
      }, 500);
      // Both jobs still serve on the bridge: now a board neither of them knows.
      stranger = startStranger();
      await Deadline.in(180_000, "the unknown board's iPXE to give up").poll(
        () => (/No more network devices/.test(strangerLog()) ? true : undefined),
        500,
      );
    } finally {
      for (const job of jobs) job.kill('SIGINT');
    }
    const runs = await Promise.all(jobs);
    await stranger.stop(2000);

    const strangerOutput = strangerLog();
    // iPXE got an address from the lab server, and no boot file from anyone.
    expect(strangerOutput).toMatch(/net0: 192\.168\.77\.1\d\d\/255\.255\.255\.0/);
    expect(strangerOutput).toContain('Nothing to boot');
    expect(strangerOutput).not.toContain('192.168.77.25');

    const leases = (mac: string) =>
      labLog.filter((line) => /DHCPACK\(labbr0\)/.test(line) && line.includes(mac)).length;
    for (const [i, board] of BOARDS.entries()) {
      const run = runs[i]!;
      expect(run.exitCode, String(run.stdout) + String(run.stderr)).toBe(0);
      const runDir = resultsDirOf(String(run.stdout));
      const logged = events(runDir);
      expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toEqual([
        'DHCP lease',
        'kernel fetched',
        'initrd fetched',
        'Linux version',
        'init started',
        'shell prompt',
      ]);
      // The job gave the boot information to its own board only. The other board and the stranger never reached
      // it (its namespace lets in only its board's frames): no DHCP line, no 'refused' count of theirs.
      const proxy = logged.filter((e) => e.type === 'dhcp' && e.message === 'PXE');
      const other = BOARDS[1 - i]!;
      expect([...new Set(proxy.filter((e) => e.detail === 'proxy').map((e) => e.mac))]).toEqual([board.mac]);
      expect(proxy.filter((e) => e.detail === 'proxy-ignored')).toEqual([]);
      expect(logged.filter((e) => e.type === 'refused')).toEqual([]);
      const pxeLog = readFileSync(join(runDir, 'pxe.log'), 'utf8');
      expect(pxeLog).not.toContain(other.mac);
      expect(pxeLog).not.toContain(STRANGER.mac);
      // No address from the job: proxy mode never leases.
      expect(logged.filter((e) => e.type === 'lease')).toEqual([]);
      // Its board fetched kernel and initrd over HTTP from this job's address, from an address the lab server gave.
      const served = logged.filter((e) => e.type === 'file-served');
      expect(served.map((e) => e.role)).toEqual(['boot-config', 'kernel', 'initrd']);
      const clients = new Set(served.map((e) => String(e.client).replace(/:\d+$/, '')));
      expect(clients.size).toBe(1);
      expect([...clients][0]).toMatch(/^192\.168\.77\.1\d\d$/);
      expect(
        labLog.some(
          (line) => /DHCPACK\(labbr0\)/.test(line) && line.includes([...clients][0]!) && line.includes(board.mac),
        ),
      ).toBe(true);
      expect(residueOf(jobIdOf(runDir))).toEqual(NO_RESIDUE);
    }
    expect(leases(STRANGER.mac)).toBeGreaterThan(0);
    // The lab interface is as the test made it: no macvlan, no address of a job left on it.
    const links = await execa('ip', ['-n', LAB, '-o', 'link', 'show']);
    expect(
      links.stdout
        .split('\n')
        .map((l) => l.split(': ')[1]?.split('@')[0])
        .sort(),
    ).toEqual([BRIDGE, 'lo', 'tapa', 'tapb', 'tapc', 'tapu']);
    const addresses = await execa('ip', ['-n', LAB, '-o', '-4', 'addr', 'show', 'dev', BRIDGE]);
    expect(addresses.stdout.match(/inet \S+/g)).toEqual([`inet ${LAB_SERVER}/24`]);
  }, 900_000);

  it("gives a UEFI board's own PXE client ipxe.efi in the proxy offer, then iPXE boots it over HTTP", async () => {
    const run = await hil([
      '--target',
      UEFI_BOARD.name,
      '--targets-dir',
      dir,
      '--image',
      'busybox',
      '--results',
      results,
    ]);
    expect(run.exitCode, String(run.stdout) + String(run.stderr)).toBe(0);
    const runDir = resultsDirOf(String(run.stdout));
    const logged = events(runDir);
    // OVMF's PXE client asked with architecture 7 and took ipxe.efi from the proxy offer (OVMF reads its file
    // field; the offer's PXE menu names the same file for ROMs that read only the menu); iPXE then took the script.
    expect(logged.filter((e) => e.type === 'file-served').map((e) => `${e.protocol} ${e.path}`)).toEqual([
      'tftp ipxe.efi',
      'http /boot.ipxe',
      'http /vmlinuz',
      'http /initrd.cpio.gz',
    ]);
    expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toContain('shell prompt');
    expect(logged.filter((e) => e.type === 'lease')).toEqual([]);
    expect(residueOf(jobIdOf(runDir))).toEqual(NO_RESIDUE);
  }, 600_000);
});
