/**
 * Sends a bounded number of hostile TFTP packets to a server and reports what
 * came back, as one JSON line on stdout. Run inside a test-made namespace:
 *
 *   tsx test/support/tftp-fuzz-sender.ts HOST PORT COUNT SEED VALID_NAME
 *
 * Packets: random bytes of random length (0..1600), valid read requests
 * mutated (bit flips, truncation, extension), write requests, requests for
 * names outside the table ('..', absolute, NUL, very long), stray
 * DATA/ACK/ERROR/unknown opcodes, and garbage sent to the per-transfer port
 * a real request opened. Deterministic for a seed.
 *
 * Reference: RFC 1350 (opcodes 1-5), RFC 2347 (option negotiation).
 */
import { createSocket, type RemoteInfo } from 'node:dgram';

const [host = '127.0.0.1', portText = '69', countText = '5000', seedText = '1', validName = 'vmlinuz'] =
  process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);

// xorshift32: small, deterministic.
let state = Number(seedText) >>> 0 || 1;
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 0x100000000;
};
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

const request = (op: number, name: string | Buffer, mode = 'octet', options: string[] = []) =>
  Buffer.concat([
    Buffer.from([0, op]),
    Buffer.isBuffer(name) ? name : Buffer.from(name),
    Buffer.from([0]),
    Buffer.from(mode),
    Buffer.from([0]),
    ...options.map((o) => Buffer.from(`${o}\0`)),
  ]);

const hostileNames = [
  '../../etc/passwd',
  '/etc/passwd',
  '..',
  '../',
  'pxelinux.cfg/../../../etc/shadow',
  '....//....//etc/passwd',
  '%2e%2e/etc/passwd',
  'a\\..\\..\\etc\\passwd',
  '/proc/self/environ',
  'x'.repeat(400),
  '',
];

function mutate(packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  switch (int(5)) {
    case 0: // bit flips
      for (let i = 0, n = 1 + int(4); i < n && copy.length > 0; i++) copy[int(copy.length)]! ^= 1 << int(8);
      return copy;
    case 1: // truncation
      return copy.subarray(0, int(copy.length + 1));
    case 2: // trailing garbage
      return Buffer.concat([copy, bytes(int(64))]);
    case 3: // NULs removed
      return Buffer.from(copy.filter((b) => b !== 0 || rand() < 0.5));
    default: // oversized
      return Buffer.concat([copy, bytes(513 + int(1000))]);
  }
}

function nextPacket(): Buffer {
  const valid = request(
    1,
    validName,
    'octet',
    pick([
      [],
      ['blksize', '1468', 'tsize', '0'],
      ['windowsize', '4'],
      ['blksize', '65464', 'windowsize', '65535', 'tsize', '0'],
    ]),
  );
  switch (int(10)) {
    case 0:
      return bytes(int(1600));
    case 1:
      return bytes(int(12));
    case 2:
    case 3:
      return mutate(valid);
    case 4:
      return request(2, pick([validName, 'upload', '../../tmp/x', '/tmp/x']), 'octet');
    case 5:
      return request(1, pick(hostileNames), pick(['octet', 'netascii', 'mail', 'OCTET', 'bogus', '']));
    case 6:
      return request(
        1,
        validName,
        'octet',
        pick([
          ['blksize', '7'],
          ['blksize', '99999'],
          ['blksize', 'abc'],
          ['tsize', '-1'],
          ['windowsize', '0'],
          ['rollover', '5'],
          ['blksize'],
          ['timeout', '0', 'x'.repeat(300), 'y'],
        ]),
      );
    case 7:
      return Buffer.concat([Buffer.from([0, pick([3, 4, 5, 6, 0, 255])]), bytes(int(40))]);
    case 8:
      return request(
        1,
        Buffer.concat([Buffer.from(validName), Buffer.from([0]), Buffer.from('../etc/passwd')]),
        'octet',
      );
    default:
      return valid;
  }
}

const socket = createSocket('udp4');
const replies = { total: 0, errors: 0, data: 0, oack: 0, other: 0, transferPorts: new Set<number>() };
let leakedContent = false;
socket.on('message', (message: Buffer, rinfo: RemoteInfo) => {
  replies.total++;
  const op = message.length >= 2 ? message.readUInt16BE(0) : -1;
  if (op === 5) replies.errors++;
  else if (op === 3) {
    replies.data++;
    if (message.includes('root:')) leakedContent = true;
  } else if (op === 6) replies.oack++;
  else replies.other++;
  if (rinfo.port !== port) replies.transferPorts.add(rinfo.port);
  // Garbage to the transfer port the server opened for us.
  if (rinfo.port !== port && rand() < 0.3)
    socket.send(
      pick([
        bytes(int(3)),
        bytes(int(700)),
        mutate(Buffer.from([0, 4, 0, 1])),
        Buffer.from([0, 4, 0xff, 0xff]),
        Buffer.from([0, 1]),
      ]),
      rinfo.port,
      host,
    );
});

await new Promise<void>((resolve) => socket.bind(0, resolve));
let sent = 0;
for (; sent < count; sent++) {
  const packet = nextPacket();
  await new Promise<void>((resolve) => socket.send(packet, port, host, () => resolve()));
  if (sent % 25 === 24) await new Promise((r) => setTimeout(r, 2));
}
// Let late replies come in.
await new Promise((r) => setTimeout(r, 1000));
socket.close();
process.stdout.write(
  `${JSON.stringify({
    sent,
    replies: replies.total,
    errors: replies.errors,
    data: replies.data,
    oack: replies.oack,
    other: replies.other,
    transferPorts: replies.transferPorts.size,
    leakedContent,
  })}\n`,
);
