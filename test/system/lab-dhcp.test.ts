/**
 * A board on a boot VLAN (network kind 'lab', mode 'dhcp'), in a namespace
 * the test creates: a bridge stands for the VLAN interface, a QEMU board
 * sits on a tap on it, and no other DHCP server is there. The job serves
 * from a macvlan on the bridge, gives the board its fixed address and boots
 * it; the bridge is left as it was.
 */
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { events, hil, jobIdOf, NO_RESIDUE, residueOf, resultsDirOf, writeTargetFile } from '../support/hil.js';
import { suiteScope } from '../support/scope.js';

// Not "hil-<job id>" (8 hex digits): stale-job recovery never takes it for a job's namespace.
const LAB = `hil-test-labd-${process.pid}`;
const BRIDGE = 'bootbr0';
const MAC = '52:54:00:b7:00:1a';
const files = suiteScope();
let dir: string;
let results: string;

beforeAll(async () => {
  dir = files.tempDir('hil-lab-dhcp-');
  results = files.results();
  await execa('ip', ['netns', 'add', LAB]);
  files.defer(() => execa('ip', ['netns', 'del', LAB], { reject: false }));
  await execa('ip', ['-n', LAB, '-batch', '-'], {
    input: [
      'link set lo up',
      `link add ${BRIDGE} type bridge forward_delay 0 stp_state 0`,
      `link set ${BRIDGE} up`,
      'tuntap add dev tapd mode tap',
      `link set tapd master ${BRIDGE}`,
      'link set tapd up',
      '',
    ].join('\n'),
  });
  const target = {
    name: 'lab-dhcp',
    description: 'QEMU board on a boot VLAN, the job as its DHCP server',
    image: 'busybox',
    power: { driver: 'qemu', memoryMiB: 512, accel: 'tcg', tap: { name: 'tapd', netns: LAB } },
    console: { kind: 'qemu-socket' },
    network: {
      kind: 'lab',
      interface: BRIDGE,
      netns: LAB,
      mode: 'dhcp',
      serverAddress: '10.77.0.1/24',
      boardAddress: '10.77.0.20',
      mac: MAC,
    },
    timeoutScale: 3,
  };
  writeTargetFile(dir, target);
}, 60_000);

describe('a board on a boot VLAN, the job as its DHCP server', () => {
  it("gives the board its fixed address from a macvlan on the VLAN's interface and boots it", async () => {
    const run = await hil(['--target', 'lab-dhcp', '--targets-dir', dir, '--image', 'busybox', '--results', results]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /ready: namespace hil-[0-9a-f]{8}, DHCP on bootbr0 for 52:54:00:b7:00:1a, TFTP and http:\/\/10\.77\.0\.1\n/,
    );
    const runDir = resultsDirOf(run.stdout);
    const logged = events(runDir);
    // iPXE's lease, then Linux's in the initramfs: both the board's fixed address.
    expect(logged.filter((e) => e.type === 'lease').map((e) => `${e.mac} ${e.ip}`)).toEqual([
      `${MAC} 10.77.0.20`,
      `${MAC} 10.77.0.20`,
    ]);
    expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toEqual([
      'DHCP lease',
      'kernel fetched',
      'initrd fetched',
      'Linux version',
      'init started',
      'shell prompt',
    ]);
    expect([
      ...new Set(logged.filter((e) => e.type === 'file-served').map((e) => String(e.client).replace(/:\d+$/, ''))),
    ]).toEqual(['10.77.0.20']);
    expect(residueOf(jobIdOf(runDir))).toEqual(NO_RESIDUE);
    const links = await execa('ip', ['-n', LAB, '-o', 'link', 'show']);
    expect(
      links.stdout
        .split('\n')
        .map((l) => l.split(': ')[1]?.split('@')[0])
        .sort(),
    ).toEqual([BRIDGE, 'lo', 'tapd']);
    const addresses = await execa('ip', ['-n', LAB, '-o', '-4', 'addr', 'show']);
    expect(addresses.stdout).not.toContain('10.77.0.1');
  }, 600_000);

  it('refuses suites for a proxy-mode board, whose address the job never learns, before anything starts', async () => {
    const run = await hil(['--target', 'board1', '--suite', 'smoke', '--results', results]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      "pxe-hil: --suite: suites over SSH need the board's address, which a proxyDHCP job does not give: run board1's suites in 'dhcp' mode (a boot VLAN) or boot it without suites",
    );
    expect(run.stdout).toBe('');
    // Suites on a held job of such a target are refused the same way, before looking for the job.
    const attach = await hil(['--target', 'board1', '--no-boot', '--suite', 'smoke', '--results', results]);
    expect(attach.exitCode).toBe(2);
    expect(attach.stderr).toContain(
      "pxe-hil: --no-boot: suites over SSH need the board's address, which a proxyDHCP job does not give",
    );
  }, 60_000);
});
