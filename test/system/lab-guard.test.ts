/**
 * A job on a lab network answers its board only. In a namespace the test
 * creates: a bridge stands for the lab interface, a QEMU board sits on a tap
 * on it, and a foreign host (another namespace, another MAC, an address in
 * the lab's subnet) sits on a veth on it. While the board boots from the
 * job (network kind 'lab', mode 'dhcp'), the foreign host asks the job's
 * address for a file over TFTP and over HTTP, and for a DHCP lease: it gets
 * no answer at all, and nothing of it reaches the run's events or its PXE
 * log. The board boots as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { unpackPackage } from '../../harness/images/apt-packages.js';
import {
  events,
  jobIdOf,
  NO_RESIDUE,
  readResult,
  REPO,
  residueOf,
  resultsDirOf,
  resultsRoot,
  startHil,
  writeTargetFile,
} from '../support/hil.js';

// Not "hil-<job id>" (8 hex digits): stale-job recovery never takes these for a job's namespace.
const LAB = `hil-test-guard-${process.pid}`;
const FOREIGN = `hil-test-foreign-${process.pid}`;
const BRIDGE = 'guardbr0';
const BOARD_MAC = '52:54:00:b7:00:2a';
const FOREIGN_MAC = '52:54:00:b7:00:2f';
const FOREIGN_IP = '10.78.0.66';
const SERVER = '10.78.0.1';
let dir: string;
let results: string;
let busybox: string;

const inForeign = (args: string[]) => execa('ip', ['netns', 'exec', FOREIGN, ...args], { reject: false, cwd: REPO });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hil-lab-guard-'));
  results = resultsRoot();
  busybox = join((await unpackPackage('busybox-static')).root, 'bin/busybox');
  await execa('ip', ['netns', 'add', LAB]);
  await execa('ip', ['netns', 'add', FOREIGN]);
  await execa('ip', ['-n', LAB, '-batch', '-'], {
    input: [
      'link set lo up',
      `link add ${BRIDGE} type bridge forward_delay 0 stp_state 0`,
      `link set ${BRIDGE} up`,
      'tuntap add dev tapg mode tap',
      `link set tapg master ${BRIDGE}`,
      'link set tapg up',
      `link add vforeign type veth peer name eth0 netns ${FOREIGN}`,
      `link set vforeign master ${BRIDGE}`,
      'link set vforeign up',
      '',
    ].join('\n'),
  });
  await execa('ip', ['-n', FOREIGN, '-batch', '-'], {
    input: [
      'link set lo up',
      `link set eth0 address ${FOREIGN_MAC}`,
      `addr add ${FOREIGN_IP}/24 dev eth0`,
      'link set eth0 up',
      '',
    ].join('\n'),
  });
  writeTargetFile(dir, {
    name: 'lab-guard',
    description: 'QEMU board on a lab bridge shared with a foreign host',
    image: 'busybox',
    power: { driver: 'qemu', memoryMiB: 512, accel: 'tcg', tap: { name: 'tapg', netns: LAB } },
    console: { kind: 'qemu-socket' },
    network: {
      kind: 'lab',
      interface: BRIDGE,
      netns: LAB,
      mode: 'dhcp',
      serverAddress: `${SERVER}/24`,
      boardAddress: '10.78.0.20',
      mac: BOARD_MAC,
    },
    timeoutScale: 3,
  });
}, 60_000);

afterAll(async () => {
  await execa('ip', ['netns', 'del', FOREIGN], { reject: false });
  await execa('ip', ['netns', 'del', LAB], { reject: false });
  rmSync(dir, { recursive: true, force: true });
  rmSync(results, { recursive: true, force: true });
});

/** What the foreign host gets from the job's address: TFTP, HTTP and DHCP. */
async function probe(): Promise<{ tftp: string; http: { exit: number | undefined; out: string }; dhcp: number }> {
  const rrq = Buffer.concat([Buffer.from([0, 1]), Buffer.from('pxelinux.0\0octet\0')]).toString('hex');
  const [tftp, http, dhcp] = await Promise.all([
    inForeign([process.execPath, '--import', 'tsx', 'test/support/hostile-client.ts', 'tftp', SERVER, '69', rrq]),
    inForeign(['curl', '-s', '--max-time', '4', `http://${SERVER}/boot.ipxe`]),
    inForeign([busybox, 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '2', '-T', '1', '-s', '/bin/true']),
  ]);
  return { tftp: tftp.stdout, http: { exit: http.exitCode, out: http.stdout }, dhcp: dhcp.exitCode ?? -1 };
}

describe('a job on a lab network shared with a foreign host', () => {
  it("answers the foreign host nothing, keeps it out of the run's events and logs, and boots the board", async () => {
    let serving = false;
    let held = false;
    const job = startHil(
      ['--target', 'lab-guard', '--targets-dir', dir, '--image', 'busybox', '--keep-up', '--results', results],
      {
        onLine: (line) => {
          if (/pxe\s+ready: namespace/.test(line)) serving = true;
          if (/hold\s+target up for --no-boot suite runs/.test(line)) held = true;
        },
      },
    );
    let answers: Awaited<ReturnType<typeof probe>> | undefined;
    try {
      await Deadline.in(120_000, "the job's PXE server").poll(() => (serving ? true : undefined), 200);
      // While the board boots.
      answers = await probe();
      await Deadline.in(300_000, 'the board to boot and be held up').poll(() => (held ? true : undefined), 500);
    } finally {
      job.kill('SIGINT');
    }
    const run = await job;
    expect(run.exitCode, String(run.stdout)).toBe(0);

    expect(answers).toEqual({ tftp: '{"reply":"none"}', http: { exit: 28, out: '' }, dhcp: 1 });
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
    const everything = [readResult(runDir, 'events.jsonl'), readResult(runDir, 'pxe.log'), String(run.stdout)];
    for (const text of everything) {
      expect(text).not.toContain(FOREIGN_IP);
      expect(text).not.toContain(FOREIGN_MAC);
    }
    expect(logged.filter((e) => e.type === 'refused')).toEqual([]);
    expect([...new Set(logged.filter((e) => e.type === 'dhcp').map((e) => e.mac))]).toEqual([BOARD_MAC]);
    expect(residueOf(jobIdOf(runDir))).toEqual(NO_RESIDUE);
  }, 600_000);
});
