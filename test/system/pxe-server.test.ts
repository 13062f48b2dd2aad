/**
 * The per-job PXE server against real clients: curl over HTTP and TFTP and
 * busybox's udhcpc as DHCP clients, in a client namespace this test makes and
 * joins to the job's bridge with a veth pair.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { EventBus, type StepEvent } from '../../harness/core/events.js';
import { unpackPackage } from '../../harness/images/apt-packages.js';
import { PxeServer } from '../../harness/pxe/pxe-server.js';
import { NO_RESIDUE, REPO, residueOf } from '../support/hil.js';
import { addClientHost, removeClientHost } from '../support/client-host.js';
import { attachTerminalReporter } from '../../harness/report/terminal.js';

const BOARD_MAC = '52:54:00:b0:00:01';
const HOSTILE = join(REPO, 'test/support/hostile-client.ts');
let server: PxeServer;
let bus: EventBus;
const seen: StepEvent[] = [];
let busybox: string;
let kernelPath: string;
let workDir: string;
const jobId = `pxetest${process.pid}`;
const clientNs = `hil-${jobId}-client`;

const inClient = (args: string[], options: { reject?: boolean } = {}) =>
  execa('ip', ['netns', 'exec', clientNs, ...args], { reject: options.reject ?? true });

beforeAll(async () => {
  busybox = join((await unpackPackage('busybox-static')).root, 'bin/busybox');
  kernelPath = busybox; // any file of some size will do as the "kernel"
  workDir = (await execa('mktemp', ['-d'])).stdout;
  bus = new EventBus();
  bus.subscribe((e) => seen.push(e));
  server = await PxeServer.start({
    jobId,
    workDir,
    bus,
    board: { mac: BOARD_MAC, ip: '10.42.0.10', hostname: 'board' },
    boot: { label: 'test', kernel: 'vmlinuz', initrd: 'initrd.gz', cmdline: 'console=ttyS0' },
    files: [{ name: 'vmlinuz', role: 'kernel', path: kernelPath }],
    loader: 'auto',
  });
  // A client host: its own namespace, a veth into the job's bridge.
  await addClientHost(server, clientNs);
}, 120_000);

afterAll(async () => {
  await removeClientHost(clientNs);
  await server?.stop();
  await execa('rm', ['-rf', workDir], { reject: false });
  expect(residueOf(jobId)).toEqual(NO_RESIDUE);
  expect(residueOf(`${jobId}-client`)).toEqual(NO_RESIDUE);
});

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('per-job PXE server', () => {
  it('serves the generated iPXE script over HTTP', async () => {
    const { stdout } = await inClient(['curl', '-sf', 'http://10.42.0.1/boot.ipxe']);
    expect(stdout).toBe(
      '#!ipxe\necho pxe-hil: booting test\nkernel http://10.42.0.1/vmlinuz initrd=initrd.gz console=ttyS0\ninitrd http://10.42.0.1/initrd.gz\nboot',
    );
  });

  it('serves a file over TFTP byte for byte, and over HTTP', async () => {
    const expected = sha(readFileSync(kernelPath));
    const tftp = await execa('ip', ['netns', 'exec', clientNs, 'curl', '-sf', 'tftp://10.42.0.1/vmlinuz'], {
      encoding: 'buffer',
    });
    expect(sha(Buffer.from(tftp.stdout))).toBe(expected);
    const http = await execa('ip', ['netns', 'exec', clientNs, 'curl', '-sf', 'http://10.42.0.1/vmlinuz'], {
      encoding: 'buffer',
    });
    expect(sha(Buffer.from(http.stdout))).toBe(expected);
    const served = seen.filter((e) => e.type === 'file-served' && e.path.endsWith('vmlinuz'));
    expect(served.map((e) => e.type === 'file-served' && [e.protocol, e.role, e.bytes])).toEqual([
      ['tftp', 'kernel', readFileSync(kernelPath).length],
      ['http', 'kernel', readFileSync(kernelPath).length],
    ]);
  });

  it('serves the pxelinux config named after the board MAC', async () => {
    const { stdout } = await inClient(['curl', '-sf', 'tftp://10.42.0.1/pxelinux.cfg/01-52-54-00-b0-00-01']);
    expect(stdout).toContain('KERNEL vmlinuz');
  });

  it('refuses names outside its file table, path escapes and writes', async () => {
    for (const url of [
      'tftp://10.42.0.1/etc/passwd',
      'tftp://10.42.0.1/../../etc/passwd',
      'http://10.42.0.1/../../etc/passwd',
      'http://10.42.0.1/%2e%2e/etc/passwd',
    ]) {
      const result = await inClient(['curl', '-sf', '--path-as-is', url], { reject: false });
      expect(result.exitCode, url).not.toBe(0);
      expect(result.stdout, url).toBe('');
    }
    const upload = await inClient(['sh', '-c', 'echo x | curl -sf -T - tftp://10.42.0.1/upload'], { reject: false });
    expect(upload.exitCode).not.toBe(0);
    const post = await inClient(
      ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', 'http://10.42.0.1/vmlinuz'],
      { reject: false },
    );
    expect(post.stdout).toBe('405');
  });

  it("gives a lease to the job's board and nothing to any other MAC", async () => {
    await execa('ip', ['-n', clientNs, 'addr', 'flush', 'dev', 'eth0']);
    await execa('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'address', '52:54:00:99:99:99']);
    const stranger = await inClient(
      [busybox, 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '3', '-T', '1', '-s', '/bin/true'],
      { reject: false },
    );
    expect(stranger.exitCode).not.toBe(0);
    expect(seen.some((e) => e.type === 'lease')).toBe(false);
    // The stranger's requests are only counted: one 'refused' event for the first, none of its DHCP lines.
    expect(seen.filter((e) => e.type === 'dhcp' && e.mac === '52:54:00:99:99:99')).toEqual([]);
    expect(seen.filter((e) => e.type === 'refused')).toEqual([
      expect.objectContaining({ type: 'refused', what: 'dhcp', count: 1, client: '52:54:00:99:99:99' }),
    ]);

    await execa('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'address', BOARD_MAC]);
    const board = await inClient(
      [busybox, 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', '/bin/true'],
      { reject: false },
    );
    expect(board.exitCode, board.stderr).toBe(0);
    expect(board.stderr + board.stdout).toMatch(/lease of 10\.42\.0\.10 obtained/);
    expect(seen.filter((e) => e.type === 'lease')).toEqual([
      expect.objectContaining({ mac: BOARD_MAC, ip: '10.42.0.10', hostname: 'board' }),
    ]);
  }, 30_000);

  it("prints no control character a client chose: requested names, the board's DHCP host name and vendor class", async () => {
    const printed: string[] = [];
    const stopPrinting = attachTerminalReporter(bus, (text) => printed.push(text));
    const from = seen.length;
    // The client host as the board: its MAC, and an address (the test before flushed it).
    await execa('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'address', BOARD_MAC]);
    await execa('ip', ['-n', clientNs, 'addr', 'replace', '10.42.0.50/24', 'dev', 'eth0']);
    try {
      // A TFTP read request for a name that would clear the screen and retitle the terminal.
      const name = 'x\x1b[2J\x1b]0;owned\x07.bin';
      const rrq = Buffer.concat([
        Buffer.from([0, 1]),
        Buffer.from(name, 'latin1'),
        Buffer.from([0]),
        Buffer.from('octet\0'),
      ]);
      const reply = await inClient([
        'node',
        '--import',
        'tsx',
        HOSTILE,
        'tftp',
        '10.42.0.1',
        '69',
        rrq.toString('hex'),
      ]);
      expect(JSON.parse(reply.stdout)).toMatchObject({ op: 5, code: 1 });
      // The board's MAC (the client host took it above), naming itself and its vendor class with escapes.
      const dhcp = await inClient(
        [
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
          '/bin/true',
          '-x',
          'hostname:ev\x1b[31mil\x07',
          '-V',
          'ven\x1b]0;pwn\x07dor',
        ],
        { reject: false },
      );
      expect(dhcp.exitCode, dhcp.stderr).toBe(0);
    } finally {
      stopPrinting();
    }
    const events = seen.slice(from);
    expect(events.filter((e) => e.type === 'file-failed').map((e) => e.type === 'file-failed' && e.path)).toEqual([
      'x\\x1b[2J\\x1b]0;owned\\x07.bin',
    ]);
    // dnsmasq itself gives no client-chosen name here: it drops a host name that is not a valid one and
    // uses the name the job gave the board.
    expect(events.filter((e) => e.type === 'lease')).toEqual([
      expect.objectContaining({ mac: BOARD_MAC, ip: '10.42.0.10', hostname: 'board' }),
    ]);
    const text = printed.join('') + JSON.stringify(events);
    expect(text).toContain('tftp      x\\x1b[2J\\x1b]0;owned\\x07.bin to 10.42.0.50:');
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  }, 30_000);

  it('removes its processes and namespace when stopped', async () => {
    const pids = server.pids();
    expect(pids).toHaveLength(2);
    await execa('ip', ['netns', 'del', clientNs]);
    await server.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const { stdout } = await execa('ip', ['netns', 'list']);
    expect(stdout).not.toContain(server.netns);
  });
});

describe('a PXE server begun before its boot plan', () => {
  const early = `${jobId}early`;
  const base = () => ({
    jobId: early,
    workDir,
    bus: new EventBus(),
    board: { mac: BOARD_MAC, ip: '10.42.0.10', hostname: 'board' },
  });

  it('has its namespace and its waiting file server before the plan, and removes them when stopped unserved', async () => {
    const begun = PxeServer.begin(base());
    const fileServer = await Deadline.in(10_000, 'the file server process').poll(() => begun.fileServerPid);
    const { stdout } = await execa('ip', ['netns', 'list']);
    expect(stdout.split('\n').map((line) => line.split(' ')[0])).toContain(`hil-${early}`);
    expect(begun.pids()).toEqual([fileServer]);
    await begun.stop();
    expect(() => process.kill(fileServer, 0)).toThrow();
    expect(residueOf(early)).toEqual(NO_RESIDUE);
  });

  it('serves the plan it is given later', async () => {
    const begun = PxeServer.begin(base());
    try {
      const served = await begun.serve({
        boot: { label: 'later', kernel: 'vmlinuz', cmdline: '' },
        files: [{ name: 'vmlinuz', role: 'kernel', path: kernelPath }],
        loader: 'auto',
      });
      expect(served).toBe(begun);
      expect(begun.files.map((f) => f.name)).toEqual([
        'vmlinuz',
        'boot.ipxe',
        'pxelinux.cfg/01-52-54-00-b0-00-01',
        'grub/grub.cfg',
      ]);
      expect(begun.pids()).toHaveLength(2);
    } finally {
      await begun.stop();
    }
    expect(residueOf(early)).toEqual(NO_RESIDUE);
  });

  it('holds two chunks per HTTP transfer, not the file: its peak memory grows by less than 8 MiB for 2 x 32 MiB', async () => {
    const big = join(workDir, 'big.bin');
    writeFileSync(big, randomBytes(32 * 1024 * 1024));
    const client = `hil-${early}-client`;
    const begun = PxeServer.begin({ ...base(), roots: [workDir] });
    try {
      await begun.serve({
        boot: { label: 'big', kernel: 'big.bin', cmdline: '' },
        files: [{ name: 'big.bin', role: 'kernel', path: big }],
        loader: 'auto',
      });
      await addClientHost(begun, client);
      const peak = () =>
        Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${begun.fileServerPid}/status`, 'utf8'))?.[1]);
      const before = peak();
      for (let i = 0; i < 2; i++) {
        const got = await execa('ip', ['netns', 'exec', client, 'curl', '-sf', 'http://10.42.0.1/big.bin'], {
          encoding: 'buffer',
        });
        expect(sha(Buffer.from(got.stdout))).toBe(sha(readFileSync(big)));
      }
      expect(peak() - before).toBeLessThan(8 * 1024);
    } finally {
      await removeClientHost(client);
      await begun.stop();
    }
    expect(residueOf(early)).toEqual(NO_RESIDUE);
  }, 60_000);
});
