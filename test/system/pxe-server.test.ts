/**
 * The per-job PXE server against real clients: curl over HTTP and TFTP and
 * busybox's udhcpc as DHCP clients, in a client namespace this test makes and
 * joins to the job's bridge with a veth pair.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
