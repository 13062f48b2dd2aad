/**
 * Several jobs on one host at once: three QEMU boards (busybox image) that
 * differ only in name and MAC, booted at the same time. Each must pass, and
 * each job's DHCP server and file server must have seen only its own board:
 * the leases, DHCP messages and dnsmasq log of a run name no other MAC.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  events,
  hil,
  jobIdOf,
  NO_RESIDUE,
  readResult,
  residueOf,
  resultsDirOf,
  writeTargetFile,
} from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const BOARDS = [
  { name: 'conc-a', mac: '52:54:00:c0:00:0a' },
  { name: 'conc-b', mac: '52:54:00:c0:00:0b' },
  { name: 'conc-c', mac: '52:54:00:c0:00:0c' },
];
const files = suiteScope();
let targetsDir: string;
let results: string;

beforeAll(async () => {
  targetsDir = files.tempDir('hil-targets-');
  results = files.results();
  for (const board of BOARDS) {
    const target = {
      name: board.name,
      description: `concurrency test board ${board.mac}`,
      image: 'busybox',
      power: { driver: 'qemu', memoryMiB: 512, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg' },
      console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
      network: { kind: 'qemu-tap', mac: board.mac },
      boot: { loader: 'auto' },
      // Three TCG boards share the host's cores: every milestone gets five times its time.
      timeoutScale: 5,
    };
    writeTargetFile(targetsDir, target);
  }
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

const MAC = /\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi;

describe('concurrent jobs on one host', () => {
  it('boots three boards at once; each job serves only its own board', async () => {
    const runs = await Promise.all(
      BOARDS.map((b) => hil(['--target', b.name, '--targets-dir', targetsDir, '--results', results])),
    );
    for (const [i, board] of BOARDS.entries()) {
      const run = runs[i]!;
      expect(run.exitCode, `${board.name}: ${run.stdout}${run.stderr}`).toBe(0);
      const dir = resultsDirOf(run.stdout);
      const logged = events(dir);
      const leases = logged.filter((e) => e.type === 'lease');
      // iPXE takes a lease, and the booted image's own DHCP client may take it again: always this board's.
      expect(leases.length).toBeGreaterThan(0);
      expect(new Set(leases.map((e) => `${e.mac} ${e.ip}`))).toEqual(new Set([`${board.mac} 10.42.0.10`]));
      const dhcpMacs = new Set(logged.filter((e) => e.type === 'dhcp').map((e) => e.mac));
      expect([...dhcpMacs]).toEqual([board.mac]);
      const served = logged.filter((e) => e.type === 'file-served');
      expect(served.map((e) => e.path)).toEqual(['/boot.ipxe', '/vmlinuz', '/initrd.cpio.gz']);
      expect(new Set(served.map((e) => String(e.client).split(':')[0]))).toEqual(new Set(['10.42.0.10']));
      // dnsmasq's own log: the only MAC it ever saw is this board's (IPv6 link-local noise aside, it logs MACs in DHCP lines).
      const macsInPxeLog = new Set((readResult(dir, 'pxe.log').match(MAC) ?? []).map((m) => m.toLowerCase()));
      expect([...macsInPxeLog]).toEqual([board.mac]);
      expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
    }
    const jobIds = new Set(runs.map((r) => jobIdOf(resultsDirOf(r.stdout))));
    expect(jobIds.size).toBe(3);
  }, 600_000);
});
