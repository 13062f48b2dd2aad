/**
 * The TFTP server and the file table against attacks and faults that need
 * exact timing, on real sockets on loopback and real files: forged replies
 * to port 69 (the TFTP loop of CVE-2024-2169), a file that shrinks while it
 * is served, windows that cross the read-ahead buffer's end, and a directory
 * swapped for a symlink between the table's check and its open.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileServerMessage } from '../../harness/pxe/file-server-messages.js';
import { type OpenedTable, openTable } from '../../harness/pxe/file-table.js';
import { startTftp, type TftpHandle } from '../../harness/pxe/tftp-server.js';

let dir: string;
let table: OpenedTable | undefined;
let tftp: TftpHandle | undefined;
let client: Socket | undefined;
const reports: FileServerMessage[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-tftp-hard-'));
  reports.length = 0;
});

afterEach(async () => {
  client?.close();
  client = undefined;
  await tftp?.close();
  tftp = undefined;
  await table?.close();
  table = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function serve(name: string, content: Buffer): Promise<number> {
  writeFileSync(join(dir, name), content);
  table = await openTable([{ name, role: 'other', path: join(dir, name) }], [dir]);
  tftp = await startTftp('127.0.0.1', 0, table, (m) => reports.push(m));
  return tftp.port;
}

async function clientSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  client = socket;
  return socket;
}

const packet = (...parts: (number[] | string)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const rrq = (name: string, ...options: string[]) => packet([0, 1], `${name}\0octet\0`, ...options.map((o) => `${o}\0`));
const ack = (block: number) => packet([0, 4, block >> 8, block & 0xff]);

/** Every packet that comes back within `ms` of sending `bytes` to the server's port 69. */
async function answersTo(port: number, bytes: Buffer, ms: number): Promise<Buffer[]> {
  const socket = await clientSocket();
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  socket.send(bytes, port, '127.0.0.1');
  await new Promise((resolve) => setTimeout(resolve, ms));
  return got;
}

describe('port 69 and forged replies', () => {
  it.each([
    ['ERROR', packet([0, 5, 0, 0], 'loop\0')],
    ['ACK', ack(1)],
    ['DATA', packet([0, 3, 0, 1], 'payload')],
    ['OACK', packet([0, 6], 'blksize\x001468\0')],
  ])('answers nothing to a %s packet', async (_what, bytes) => {
    const port = await serve('file', Buffer.alloc(100, 1));
    expect(await answersTo(port, bytes, 1000)).toEqual([]);
  });

  it('still answers a bad request with an ERROR (the silence above is not a deaf server)', async () => {
    const port = await serve('file', Buffer.alloc(100, 1));
    expect(await answersTo(port, packet([0, 9], 'a\0octet\0'), 1000)).toEqual([
      packet([0, 5, 0, 4], 'malformed or unsupported request\0'),
    ]);
  });
});

describe('a file that shrinks while it is served', () => {
  it('ends the transfer with an ERROR when a read comes up short', async () => {
    const size = 1024 * 1024;
    const port = await serve('shrinking', Buffer.alloc(size, 3));
    const socket = await clientSocket();
    const received: number[] = [];
    const error = new Promise<Buffer>((resolve) => {
      socket.on('message', (m, rinfo) => {
        const op = m.readUInt16BE(0);
        if (op === 5) return resolve(m);
        const block = m.readUInt16BE(2);
        received.push(block);
        // After the first block (the first 128 KiB are already read ahead), the file is cut short.
        if (block === 1) truncateSync(join(dir, 'shrinking'), 1000);
        socket.send(ack(block), rinfo.port, rinfo.address);
      });
    });
    socket.send(rrq('shrinking'), port, '127.0.0.1');
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000));
    const got = await Promise.race([error, timeout]);
    expect(got?.toString('latin1')).toBe(
      '\0\x05\0\0read error: file shrank while being served (131072 of 1048576 bytes)\0',
    );
    // The 256 blocks of the first read, then nothing more.
    expect(received.length).toBe(256);
    expect(reports.at(-1)).toEqual({
      type: 'file-failed',
      protocol: 'tftp',
      path: 'shrinking',
      client: expect.any(String),
      reason: 'read error: file shrank while being served (131072 of 1048576 bytes)',
    });
  });
});

/**
 * An RFC 7440 receiver: ACKs the last block of each window (or the last
 * contiguous block on a gap) and counts every DATA packet for a block it
 * already has.
 */
async function windowedDownload(
  port: number,
  name: string,
  blockSize: number,
  windowSize: number,
): Promise<{ data: Buffer; duplicates: number; agreed: string }> {
  const socket = await clientSocket();
  const chunks: Buffer[] = [];
  let duplicates = 0;
  let agreed = '';
  let expected = 1;
  let windowEnd = windowSize;
  return new Promise((resolve, reject) => {
    const cap = setTimeout(() => reject(new Error(`download stuck at block ${expected}`)), 30_000);
    socket.on('message', (m, rinfo) => {
      const answer = (block: number) => {
        windowEnd = block + windowSize;
        socket.send(ack(block), rinfo.port, rinfo.address);
      };
      const op = m.readUInt16BE(0);
      if (op === 6) {
        agreed = m.subarray(2).toString('latin1');
        return answer(0);
      }
      if (op !== 3) return reject(new Error(`unexpected packet ${m.toString('latin1')}`));
      const block = m.readUInt16BE(2);
      if (block < expected) return void duplicates++;
      if (block > expected) return answer(expected - 1);
      chunks.push(m.subarray(4));
      expected++;
      const last = m.length - 4 < blockSize;
      if (last || block === windowEnd) answer(block);
      if (last) {
        clearTimeout(cap);
        // Any late duplicate arrives within this pause.
        setTimeout(() => resolve({ data: Buffer.concat(chunks), duplicates, agreed }), 200);
      }
    });
    socket.send(rrq(name, 'blksize', String(blockSize), 'windowsize', String(windowSize)), port, '127.0.0.1');
  });
}

describe('windows across the read-ahead buffer', () => {
  it.each([
    [1468, 16],
    [1468, 8],
    [512, 16],
  ])('sends each block once with %i-byte blocks and windowsize %i', async (blockSize, windowSize) => {
    const content = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < content.length; i += 4) content.writeUInt32BE(i, i);
    const port = await serve('big', content);
    const result = await windowedDownload(port, 'big', blockSize, windowSize);
    expect(result.agreed).toBe(`blksize\0${blockSize}\0windowsize\0${windowSize}\0`);
    expect(result.data.equals(content)).toBe(true);
    expect(result.duplicates).toBe(0);
  });
});

describe('a directory swapped for a symlink between the check and the open', () => {
  it('refuses to open what the swapped path leads to', async () => {
    const images = join(dir, 'images');
    const outside = join(dir, 'outside');
    mkdirSync(images);
    mkdirSync(outside);
    writeFileSync(join(images, 'vmlinuz'), 'kernel');
    writeFileSync(join(outside, 'vmlinuz'), 'secret');
    const entry = [{ name: 'vmlinuz', role: 'kernel' as const, path: join(images, 'vmlinuz') }];
    // Without the swap, the same layout opens.
    const plain = await openTable(entry, [images]);
    expect((await plain.files[0]!.read(0, 100)).toString()).toBe('kernel');
    await plain.close();

    const opening = openTable(entry, [images], {
      betweenCheckAndOpen: async () => {
        renameSync(images, join(dir, 'images.old'));
        symlinkSync(outside, images);
      },
    });
    await expect(opening).rejects.toThrow(
      `table entry 'vmlinuz': ${join(images, 'vmlinuz')} changed between its check and its opening (opened ${join(outside, 'vmlinuz')}); make the image directories writable only by the harness`,
    );
  });
});
