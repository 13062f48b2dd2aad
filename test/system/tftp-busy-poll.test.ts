/**
 * TFTP busy polling on real sockets on loopback: a lock-step client that
 * answers at once has its waits polled, a client that answers slower than the
 * budget has only its first wait polled (polling would not catch its ACKs and
 * only burn CPU), a budget of 0 polls nothing, and every transfer delivers
 * the file whole.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenedTable, openTable } from '../../harness/pxe/file-table.js';
import { startTftp, type TftpHandle } from '../../harness/pxe/tftp-server.js';

let dir: string;
let table: OpenedTable | undefined;
let tftp: TftpHandle | undefined;
let client: Socket | undefined;

const BLOCKS = 40;
const content = Buffer.alloc(512 * BLOCKS + 100);
for (let i = 0; i < content.length; i++) content[i] = (i * 7) & 0xff;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-tftp-poll-'));
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

async function serve(busyPollUs: number): Promise<number> {
  writeFileSync(join(dir, 'file'), content);
  table = await openTable([{ name: 'file', role: 'other', path: join(dir, 'file') }], [dir]);
  tftp = await startTftp('127.0.0.1', 0, table, () => {}, { busyPollUs });
  return tftp.port;
}

/** A plain RFC 1350 client (512-byte blocks, one ACK per block) that waits `ackDelayMs` before each ACK. */
async function download(port: number, ackDelayMs: number): Promise<Buffer> {
  const socket = createSocket('udp4');
  client = socket;
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const parts: Buffer[] = [];
  return new Promise<Buffer>((resolve, reject) => {
    let expected = 1;
    socket.on('message', (packet, rinfo) => {
      if (packet.readUInt16BE(0) !== 3) return reject(new Error(`not DATA: ${packet.toString('latin1')}`));
      const block = packet.readUInt16BE(2);
      if (block === expected) {
        parts.push(packet.subarray(4));
        expected++;
      }
      const ack = Buffer.from([0, 4, block >> 8, block & 0xff]);
      const last = packet.length < 4 + 512;
      const answer = () => {
        socket.send(ack, rinfo.port, rinfo.address);
        if (last) resolve(Buffer.concat(parts));
      };
      if (ackDelayMs > 0) setTimeout(answer, ackDelayMs);
      else answer();
    });
    socket.send(Buffer.from('\0\x01file\0octet\0', 'latin1'), port, '127.0.0.1');
  });
}

describe('TFTP busy polling', () => {
  it('polls the waits of a client that answers within the budget', async () => {
    const port = await serve(5000);
    expect((await download(port, 0)).equals(content)).toBe(true);
    // Every block's wait, but for one a loaded host may have let run over the budget.
    expect(tftp!.busyPolledWaits()).toBeGreaterThanOrEqual(BLOCKS - 1);
  });

  it('stops polling for a client that answers slower than the budget', async () => {
    const port = await serve(1000);
    expect((await download(port, 10)).equals(content)).toBe(true);
    // Only the first wait, before the client had shown how fast it answers.
    expect(tftp!.busyPolledWaits()).toBe(1);
  });

  it('polls nothing with a budget of 0', async () => {
    const port = await serve(0);
    expect((await download(port, 0)).equals(content)).toBe(true);
    expect(tftp!.busyPolledWaits()).toBe(0);
  });
});
