/**
 * The job's file server under hostile input, through the real PXE server
 * (namespace, dnsmasq, the file server process): hand-made bad TFTP packets
 * with the exact error each must get, 5000 random and mutated-valid TFTP
 * packets from a client namespace, then the server must still be alive,
 * serve a file byte for byte to curl, and hold no more descriptors than
 * before. HTTP: bad methods, huge headers, a slowloris client and a stalled
 * reader are answered or cut off.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { LabFault } from '../../harness/core/errors.js';
import { EventBus, type StepEvent } from '../../harness/core/events.js';
import { PxeServer } from '../../harness/pxe/pxe-server.js';
import { TFTP_LIMITS } from '../../harness/pxe/tftp-server.js';
import { NO_RESIDUE, REPO, residueOf } from '../support/hil.js';
import { addClientHost, removeClientHost } from '../support/client-host.js';

const FUZZ_PACKETS = 5000;
const jobId = `fuzz${process.pid}`;
const clientNs = `hil-${jobId}-client`;
const seen: StepEvent[] = [];
let server: PxeServer;
let root: string;
let kernel: Buffer;

const inClient = (args: string[], options: { encoding?: 'buffer' } = {}) =>
  execa('ip', ['netns', 'exec', clientNs, ...args], { reject: false, encoding: options.encoding as 'utf8' });
const tsx = (script: string, ...args: string[]) =>
  inClient([process.execPath, '--import', 'tsx', join(REPO, 'test/support', script), ...args]);
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** One TFTP packet from the client namespace; the reply decoded. */
async function tftpPacket(
  packet: Buffer,
): Promise<{ op: number; code?: number; message?: string; bytes?: number; reply?: string }> {
  const result = await tsx('hostile-client.ts', 'tftp', '10.42.0.1', '69', packet.toString('hex'));
  return JSON.parse(result.stdout);
}
const rrq = (name: string, mode = 'octet') =>
  Buffer.concat([Buffer.from([0, 1]), Buffer.from(`${name}\0${mode}\0`, 'latin1')]);

function processStatus(pid: number): { rssKiB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return { rssKiB, fds: readdirSync(`/proc/${pid}/fd`).length };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hil-fuzz-'));
  kernel = randomBytes(300_000);
  writeFileSync(join(root, 'vmlinuz'), kernel);
  // Larger than the socket buffers on both ends, for the stalled reader.
  writeFileSync(join(root, 'big'), Buffer.alloc(32 * 1024 * 1024, 7));
  const bus = new EventBus();
  bus.subscribe((e) => seen.push(e));
  server = await PxeServer.start({
    jobId,
    workDir: root,
    bus,
    board: { mac: '52:54:00:f0:00:01', ip: '10.42.0.10', hostname: 'board' },
    boot: { label: 'fuzz', kernel: 'vmlinuz', cmdline: '' },
    files: [
      { name: 'vmlinuz', role: 'kernel', path: join(root, 'vmlinuz') },
      { name: 'big', role: 'other', path: join(root, 'big') },
    ],
    loader: 'auto',
    roots: [root],
  });
  await addClientHost(server, clientNs);
}, 60_000);

afterAll(async () => {
  await removeClientHost(clientNs);
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
  expect(residueOf(jobId)).toEqual(NO_RESIDUE);
  expect(residueOf(`${jobId}-client`)).toEqual(NO_RESIDUE);
});

describe('TFTP under hostile input', () => {
  it('answers each kind of bad request with the exact error and serves nothing', async () => {
    const cases: [string, Buffer, { op: number; code: number; message: string }][] = [
      [
        'write request',
        Buffer.concat([Buffer.from([0, 2]), Buffer.from('upload\0octet\0')]),
        { op: 5, code: 2, message: 'read-only server' },
      ],
      ['name outside the table', rrq('etc/passwd'), { op: 5, code: 1, message: "not in the job's file table" }],
      ['absolute path', rrq('/etc/passwd'), { op: 5, code: 1, message: "not in the job's file table" }],
      ['.. escape', rrq('../../etc/passwd'), { op: 5, code: 1, message: "not in the job's file table" }],
      [
        '.. after a valid name',
        rrq('vmlinuz/../../etc/passwd'),
        { op: 5, code: 1, message: "not in the job's file table" },
      ],
      [
        'oversized packet',
        Buffer.concat([rrq('vmlinuz'), Buffer.alloc(600, 0x41), Buffer.from([0])]),
        { op: 5, code: 4, message: 'malformed or unsupported request' },
      ],
      [
        'no NUL terminator',
        Buffer.from([0, 1, 0x76, 0x6d, 0x6c, 0x69, 0x6e, 0x75, 0x78]),
        { op: 5, code: 4, message: 'malformed or unsupported request' },
      ],
      [
        'unknown opcode',
        Buffer.from([0, 9, 0x61, 0, 0x6f, 0]),
        { op: 5, code: 4, message: 'malformed or unsupported request' },
      ],
      [
        'netascii mode',
        rrq('vmlinuz', 'netascii'),
        { op: 5, code: 4, message: "mode 'netascii' is not served; use octet" },
      ],
    ];
    for (const [what, packet, expected] of cases) expect(await tftpPacket(packet), what).toEqual(expected);
    expect(seen.some((e) => e.type === 'file-served')).toBe(false);
  }, 60_000);

  it(`survives ${FUZZ_PACKETS} random and mutated packets: alive, serving, no descriptor or memory growth`, async () => {
    const pid = server.fileServerPid!;
    // Warm up (the first transfer loads code), then take the baseline.
    const warm = await inClient(['curl', '-sf', 'tftp://10.42.0.1/vmlinuz'], { encoding: 'buffer' });
    expect(sha(warm.stdout as unknown as Uint8Array)).toBe(sha(kernel));
    const before = processStatus(pid);

    const fuzz = await tsx('tftp-fuzz-sender.ts', '10.42.0.1', '69', String(FUZZ_PACKETS), '20240611', 'vmlinuz');
    expect(fuzz.exitCode, fuzz.stderr).toBe(0);
    const report = JSON.parse(fuzz.stdout) as { sent: number; replies: number; leakedContent: boolean };
    expect(report.sent).toBe(FUZZ_PACKETS);
    expect(report.leakedContent).toBe(false);
    // Replies over UDP can be dropped when the host is busy; the server answered, and still serves below.
    expect(report.replies).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).not.toThrow();

    // Transfers the fuzzer left hanging end after their retransmissions; then the descriptors are back.
    // Generous, for a busy host: the check is that they end, not how fast.
    const drainMs = TFTP_LIMITS.timeoutMs * (TFTP_LIMITS.retries + 2) + 60_000;
    const after = await Deadline.in(drainMs, 'the fuzzed transfers to time out').poll(() => {
      const now = processStatus(pid);
      return now.fds <= before.fds ? now : undefined;
    }, 250);
    // No descriptor growth: as many as before, or fewer (one the server held then may have closed since).
    expect(after.fds).toBeLessThanOrEqual(before.fds);
    // Memory: bounded, not returned to the exact byte (the heap keeps its pages).
    expect(after.rssKiB).toBeLessThan(before.rssKiB + 64 * 1024);
    process.stdout.write(
      `tftp fuzz: ${report.sent} packets, ${report.replies} replies; RSS ${before.rssKiB} -> ${after.rssKiB} KiB; fds ${before.fds} -> ${after.fds}\n`,
    );

    const again = await inClient(['curl', '-sf', '--tftp-blksize', '1024', 'tftp://10.42.0.1/vmlinuz'], {
      encoding: 'buffer',
    });
    expect(again.exitCode).toBe(0);
    expect(sha(again.stdout as unknown as Uint8Array)).toBe(sha(kernel));
    expect(
      seen.filter((e) => e.type === 'file-served' && e.path === 'vmlinuz' && e.bytes === kernel.length).length,
    ).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

describe('HTTP under hostile input', () => {
  it('refuses other methods and oversized headers, and closes slow and stalled clients', async () => {
    const status = async (args: string[]) =>
      (await inClient(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', ...args])).stdout;
    expect(await status(['-X', 'DELETE', 'http://10.42.0.1/vmlinuz'])).toBe('405');
    expect(await status(['-X', 'PUT', '--data', 'x', 'http://10.42.0.1/vmlinuz'])).toBe('405');
    expect(await status(['-H', `X-Big: ${'a'.repeat(20_000)}`, 'http://10.42.0.1/vmlinuz'])).toBe('431');
    expect(await status(['--path-as-is', 'http://10.42.0.1/../../etc/passwd'])).toBe('404');

    const [slow, stalled] = await Promise.all([
      tsx('hostile-client.ts', 'slowloris', '10.42.0.1', '80'),
      tsx('hostile-client.ts', 'stalled', '10.42.0.1', '80', '/big'),
    ]);
    expect(JSON.parse(slow.stdout)).toMatchObject({ closedBy: 'server', received: 'HTTP/1.1 408 Request Timeout' });
    const stalledResult = JSON.parse(stalled.stdout) as { closedBy: string; bytes: number };
    expect(stalledResult.closedBy).toBe('server');
    expect(stalledResult.bytes).toBeLessThan(32 * 1024 * 1024);
    expect(seen).toContainEqual(
      expect.objectContaining({
        type: 'file-failed',
        protocol: 'http',
        path: '/big',
        reason: 'connection closed before the end',
      }),
    );

    const ok = await inClient(['curl', '-sf', 'http://10.42.0.1/vmlinuz'], { encoding: 'buffer' });
    expect(sha(ok.stdout as unknown as Uint8Array)).toBe(sha(kernel));
  }, 60_000);
});

describe('table entries that are symlinks', () => {
  it('refuses to start when an entry resolves outside the allowed roots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-symlink-'));
    try {
      mkdirSync(join(dir, 'images'));
      symlinkSync('/etc/passwd', join(dir, 'images', 'vmlinuz'));
      const start = PxeServer.start({
        jobId: `${jobId}s`,
        workDir: dir,
        bus: new EventBus(),
        board: { mac: '52:54:00:f0:00:02', ip: '10.42.0.10', hostname: 'board' },
        boot: { label: 'symlink', kernel: 'vmlinuz', cmdline: '' },
        files: [{ name: 'vmlinuz', role: 'kernel', path: join(dir, 'images', 'vmlinuz') }],
        loader: 'auto',
        roots: [join(dir, 'images')],
      });
      await expect(start).rejects.toThrow(LabFault);
      await expect(start).rejects.toThrow(
        `PXE server failed to start: file server: table entry 'vmlinuz': ${join(dir, 'images', 'vmlinuz')} resolves to /etc/passwd, outside the allowed roots (${join(dir, 'images')})`,
      );
      expect(residueOf(`${jobId}s`)).toEqual(NO_RESIDUE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
