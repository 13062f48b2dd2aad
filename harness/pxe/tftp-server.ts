/**
 * TFTP for the job: read-only, serving only the names in the job's opened
 * file table, written here so that every packet is checked before it is
 * trusted. What it does with hostile input:
 * - a DATA, ACK, ERROR or OACK packet to port 69: no answer at all, so a
 *   forged packet cannot make two servers answer each other forever (the
 *   TFTP loop of CVE-2024-2169);
 * - a request packet shorter than 4 or longer than 512 bytes, with an
 *   unknown opcode, without its NUL terminators, or with a mode other than
 *   octet: an ERROR packet back (code 4, illegal operation), nothing else;
 * - a write request: ERROR code 2 (access violation), nothing written;
 * - a name outside the table (including '..' segments, absolute paths
 *   outside it, NUL bytes, backslashes): ERROR code 1 (file not found);
 * - more than MAX_TRANSFERS transfers at once, or MAX_PER_CLIENT for one
 *   client address: ERROR code 0 (busy), so a flood cannot use up sockets;
 * - packets to a transfer's port from any other address or port never
 *   reach it: its socket is connected to the client, so the kernel drops
 *   them (no ERROR 5 is reflected to a forged sender); the transfer goes on;
 *   malformed packets from the client itself end its transfer with ERROR 4;
 * - a client that stops acknowledging: the window is sent again RETRIES
 *   times, TIMEOUT_MS apart, then the transfer is dropped.
 * No packet, however formed, can throw out of a socket handler.
 *
 * Speed: while a transfer waits for the ACK of a client that answered its
 * last window within the busy-poll budget, the event loop polls instead of
 * sleeping (busy-poll.ts), so a lock-step client's ACK is answered without
 * waiting for the server to be woken.
 *
 * Tested against: PXE ROMs of QEMU (iPXE), pxelinux 6.04, curl's TFTP client,
 * and test/support/tftp-fuzz-sender.ts.
 * Reference: RFC 1350 (TFTP), RFC 2347 (option extension), RFC 2348 (blksize),
 * RFC 2349 (tsize; timeout is not negotiated), RFC 7440 (windowsize).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { BusyPoll } from './busy-poll.js';
import type { FileServerMessage } from './file-server-messages.js';
import { lookupOpened, type OpenedFile, type OpenedTable } from './file-table.js';

type Report = (message: FileServerMessage) => void;

export type TftpHandle = {
  port: number;
  activeTransfers(): number;
  /** Waits for an ACK that were busy-polled so far. */
  busyPolledWaits(): number;
  close(): Promise<void>;
};

export const TFTP_LIMITS = {
  maxRequestBytes: 512,
  maxTransfers: 64,
  maxPerClient: 16,
  /** Largest block size offered: an Ethernet frame without IP fragmentation. */
  maxBlockSize: 1468,
  maxWindowSize: 16,
  timeoutMs: 1000,
  retries: 5,
} as const;

const OP = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;
/** Opcodes of replies: port 69 drops them unanswered (the loop of CVE-2024-2169). */
const NOT_A_REQUEST: ReadonlySet<number> = new Set([OP.DATA, OP.ACK, OP.ERROR, OP.OACK]);
const ERR = { undefined: 0, notFound: 1, accessViolation: 2, illegalOperation: 4 } as const;

export type ReadRequest = { file: string; mode: string; options: Map<string, string> };

/** Parses a read request; undefined when the packet is not a well-formed RRQ (RFC 1350, RFC 2347). */
export function parseReadRequest(packet: Buffer): ReadRequest | undefined {
  if (packet.length < 4 || packet.length > TFTP_LIMITS.maxRequestBytes || packet.readUInt16BE(0) !== OP.RRQ)
    return undefined;
  if (packet[packet.length - 1] !== 0) return undefined;
  const strings = packet
    .subarray(2, packet.length - 1)
    .toString('latin1')
    .split('\0');
  if (strings.length < 2 || strings.length % 2 !== 0) return undefined;
  const [file, mode, ...rest] = strings as [string, string, ...string[]];
  if (file === '') return undefined;
  const options = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) options.set(rest[i]!.toLowerCase(), rest[i + 1]!);
  return { file, mode: mode.toLowerCase(), options };
}

/** The options this server accepts from a request, as sent back in the OACK; empty when none. */
export function negotiate(options: Map<string, string>, size: number): Map<string, string> {
  const accepted = new Map<string, string>();
  const number = (value: string | undefined) =>
    value !== undefined && /^\d{1,6}$/.test(value) ? Number(value) : undefined;
  const blksize = number(options.get('blksize'));
  if (blksize !== undefined && blksize >= 8 && blksize <= 65464)
    accepted.set('blksize', String(Math.min(blksize, TFTP_LIMITS.maxBlockSize)));
  if (options.get('tsize') === '0') accepted.set('tsize', String(size));
  const windowsize = number(options.get('windowsize'));
  if (windowsize !== undefined && windowsize >= 1 && windowsize <= 65535)
    accepted.set('windowsize', String(Math.min(windowsize, TFTP_LIMITS.maxWindowSize)));
  return accepted;
}

function errorPacket(code: number, message: string): Buffer {
  const text = Buffer.from(message, 'latin1');
  const packet = Buffer.alloc(4 + text.length + 1);
  packet.writeUInt16BE(OP.ERROR, 0);
  packet.writeUInt16BE(code, 2);
  text.copy(packet, 4);
  return packet;
}

function oackPacket(options: Map<string, string>): Buffer {
  const parts = [Buffer.from([0, OP.OACK])];
  for (const [key, value] of options) parts.push(Buffer.from(`${key}\0${value}\0`, 'latin1'));
  return Buffer.concat(parts);
}

export type TftpOptions = {
  /** Microseconds to poll for a fast client's ACK instead of sleeping (busy-poll.ts); 0 or absent: never. */
  busyPollUs?: number;
};

export function startTftp(
  address: string,
  port: number,
  table: OpenedTable,
  report: Report,
  options: TftpOptions = {},
): Promise<TftpHandle> {
  const transfers = new Set<Transfer>();
  const poll = new BusyPoll((options.busyPollUs ?? 0) / 1000);
  const perClient = new Map<string, number>();
  const main = createSocket({ type: 'udp4', reuseAddr: false });

  const reply = (rinfo: RemoteInfo, packet: Buffer) => main.send(packet, rinfo.port, rinfo.address, () => {});

  main.on('message', (packet, rinfo) => {
    try {
      onRequest(packet, rinfo);
    } catch (error) {
      // A bug here must not take the server down; the client gets an error.
      reply(rinfo, errorPacket(ERR.undefined, `internal error: ${(error as Error).message}`.slice(0, 100)));
    }
  });
  // Errors of the main socket (ICMP port unreachable from a client that went away): keep serving.
  main.on('error', () => {});

  function onRequest(packet: Buffer, rinfo: RemoteInfo): void {
    const client = `${rinfo.address}:${rinfo.port}`;
    // Never answer a packet that answers something: a forged one could start two servers answering each other.
    if (packet.length >= 2 && NOT_A_REQUEST.has(packet.readUInt16BE(0))) return;
    if (packet.length >= 2 && packet.readUInt16BE(0) === OP.WRQ)
      return reply(rinfo, errorPacket(ERR.accessViolation, 'read-only server'));
    const request = parseReadRequest(packet);
    if (!request) return reply(rinfo, errorPacket(ERR.illegalOperation, 'malformed or unsupported request'));
    const path = request.file;
    report({ type: 'file-requested', protocol: 'tftp', path, client });
    const refuse = (code: number, reason: string) => {
      report({ type: 'file-failed', protocol: 'tftp', path, client, reason });
      reply(rinfo, errorPacket(code, reason));
    };
    if (request.mode !== 'octet')
      return refuse(ERR.illegalOperation, `mode '${request.mode.slice(0, 20)}' is not served; use octet`);
    const file = lookupOpened(table, path);
    if (!file) return refuse(ERR.notFound, "not in the job's file table");
    const active = perClient.get(rinfo.address) ?? 0;
    if (transfers.size >= TFTP_LIMITS.maxTransfers || active >= TFTP_LIMITS.maxPerClient)
      return refuse(ERR.undefined, 'server busy, try again');
    perClient.set(rinfo.address, active + 1);
    const transfer = new Transfer(address, rinfo, file, negotiate(request.options, file.size), poll, (outcome) => {
      transfers.delete(transfer);
      const left = (perClient.get(rinfo.address) ?? 1) - 1;
      if (left > 0) perClient.set(rinfo.address, left);
      else perClient.delete(rinfo.address);
      if (outcome.ok)
        report({
          type: 'file-served',
          protocol: 'tftp',
          path,
          role: file.role,
          client,
          bytes: file.size,
          durationMs: outcome.durationMs,
        });
      else report({ type: 'file-failed', protocol: 'tftp', path, client, reason: outcome.reason });
    });
    transfers.add(transfer);
    transfer.start();
  }

  return new Promise((resolve, reject) => {
    main.once('error', reject);
    main.bind(port, address, () => {
      main.off('error', reject);
      resolve({
        port: main.address().port,
        activeTransfers: () => transfers.size,
        busyPolledWaits: () => poll.holds,
        close: async () => {
          for (const transfer of [...transfers]) transfer.abort('server stopping');
          await new Promise<void>((done) => main.close(() => done()));
        },
      });
    });
  });
}

type Outcome = { ok: true; durationMs: number } | { ok: false; reason: string };

/** Bytes read from the file at once for a transfer (two chunks each, at most 64 transfers: 16 MiB in all). */
const READ_AHEAD_BYTES = 128 * 1024;

/** Bytes of the file from `start`, read ahead of the blocks that carry them. */
type Chunk = { start: number; data: Buffer };

/** One read transfer on its own socket (its transfer ID), sending a window of blocks at a time. */
class Transfer {
  private readonly socket: Socket;
  private readonly blockSize: number;
  private readonly windowSize: number;
  private readonly lastBlock: number;
  private readonly started = performance.now();
  private readAhead: Chunk | undefined;
  /** The chunk after `readAhead`, read while the current one is being sent (the `chunk` once read). */
  private nextChunk: { start: number; ready: Promise<Chunk>; chunk?: Chunk } | undefined;
  /** Absolute number of the first block not yet acknowledged (1-based); 0 while the OACK awaits its ACK. */
  private base: number;
  /** The next block of the current window to send; back to `base` on every ACK and retransmission. */
  private next = 1;
  private timer: NodeJS.Timeout | undefined;
  private retriesLeft: number = TFTP_LIMITS.retries;
  /** When the last window (or the OACK) was sent and the wait for its ACK began. */
  private waitingSince = 0;
  /** Whether the client's last ACK came within the busy-poll budget: only then is its next wait polled. */
  private answersFast = true;
  private sending = false;
  private finished = false;

  constructor(
    address: string,
    private readonly client: RemoteInfo,
    private readonly file: OpenedFile,
    private readonly accepted: Map<string, string>,
    private readonly poll: BusyPoll,
    private readonly done: (outcome: Outcome) => void,
  ) {
    this.blockSize = Number(accepted.get('blksize') ?? 512);
    this.windowSize = Number(accepted.get('windowsize') ?? 1);
    // A file of exactly n blocks ends with an empty block n+1.
    this.lastBlock = Math.floor(file.size / this.blockSize) + 1;
    this.base = accepted.size > 0 ? 0 : 1;
    this.socket = createSocket('udp4');
    this.socket.on('error', () => this.fail('socket error'));
    this.socket.on('message', (packet, rinfo) => {
      // Only a packet that slipped in before the socket was connected can come from elsewhere.
      if (rinfo.port !== this.client.port || rinfo.address !== this.client.address) return;
      try {
        this.onPacket(packet);
      } catch (error) {
        this.abort(`internal error: ${(error as Error).message}`);
      }
    });
    this.socket.bind(0, address);
  }

  start(): void {
    // Connected to the client: each send skips the per-packet address lookup.
    this.socket.once('listening', () =>
      this.socket.connect(this.client.port, this.client.address, () => this.sendWindow()),
    );
  }

  abort(reason: string): void {
    if (this.finished) return;
    this.send(errorPacket(ERR.undefined, reason.slice(0, 100)));
    this.fail(reason);
  }

  private onPacket(packet: Buffer): void {
    if (this.finished) return;
    const op = packet.length >= 4 ? packet.readUInt16BE(0) : -1;
    if (op === OP.ERROR)
      return this.fail(
        `client sent an error: ${packet
          .subarray(4, Math.min(packet.length, 84))
          .toString('latin1')
          .replace(/[^\x20-\x7e]/g, '')}`,
      );
    if (op !== OP.ACK) {
      this.send(errorPacket(ERR.illegalOperation, 'expected an ACK'));
      return this.fail('client sent a malformed or unexpected packet');
    }
    const acked = this.absoluteBlock(packet.readUInt16BE(2));
    // An ACK before the window (a duplicate) is ignored: answering it would double the traffic.
    if (acked === undefined || acked < this.base) return;
    this.answersFast = performance.now() - this.waitingSince <= this.poll.budgetMs;
    if (acked >= this.lastBlock) return this.succeed();
    this.base = acked + 1;
    this.next = this.base;
    this.retriesLeft = TFTP_LIMITS.retries;
    this.sendWindow();
  }

  /** Maps a 16-bit block number to the absolute block it acknowledges within the current window. */
  private absoluteBlock(block16: number): number | undefined {
    const top = Math.min(this.base + this.windowSize - 1, this.lastBlock);
    for (let candidate = Math.max(0, this.base - 1); candidate <= top; candidate++) {
      if ((candidate & 0xffff) === block16) return candidate;
    }
    return undefined;
  }

  /**
   * Sends the rest of the current window, from `next`. Blocks already in the
   * read-ahead buffer go out at once, in the same turn of the event loop as
   * the ACK that asked for them: a lock-step client (one block per round
   * trip) waits on nothing else. Only a block outside the buffer waits for a
   * file read, and the window then goes on from that block: the blocks sent
   * before the read are not sent again.
   */
  private sendWindow(): void {
    if (this.finished) return;
    // A read is pending: when it is done, the window is sent from wherever ACKs have moved it.
    if (this.sending) return;
    if (this.base === 0) {
      this.send(oackPacket(this.accepted));
      return this.arm();
    }
    const top = Math.min(this.base + this.windowSize - 1, this.lastBlock);
    for (; this.next <= top; this.next++) {
      const payload = this.bufferedBlock(this.next);
      if (!payload) return void this.readThenSend(this.next);
      this.sendData(this.next, payload);
    }
    this.arm();
  }

  /** Sends the whole window again, after a timeout. */
  private resendWindow(): void {
    this.next = Math.max(this.base, 1);
    this.sendWindow();
  }

  private async readThenSend(block: number): Promise<void> {
    this.sending = true;
    try {
      const start = (block - 1) * this.blockSize;
      const next = this.nextChunk;
      this.nextChunk = undefined;
      this.readAhead = next?.start === start ? await next.ready : await this.readChunk(start);
    } catch (error) {
      return this.abort(`read error: ${(error as Error).message}`);
    } finally {
      this.sending = false;
    }
    this.sendWindow();
  }

  /**
   * The payload of a block if the read-ahead buffer (or the chunk read after
   * it) holds it. Past half of the buffer, the next chunk is read meanwhile,
   * so a client is not kept waiting for a file read at the buffer's end.
   */
  private bufferedBlock(block: number): Buffer | undefined {
    const start = (block - 1) * this.blockSize;
    const end = Math.min(start + this.blockSize, this.file.size);
    const holds = (chunk: Chunk | undefined): chunk is Chunk =>
      chunk !== undefined && start >= chunk.start && end <= chunk.start + chunk.data.length;
    let ahead = this.readAhead;
    if (!holds(ahead)) {
      if (!holds(this.nextChunk?.chunk)) return undefined;
      ahead = this.readAhead = this.nextChunk.chunk;
      this.nextChunk = undefined;
    }
    if (!this.nextChunk && end - ahead.start >= ahead.data.length / 2) this.readNext(ahead.start + ahead.data.length);
    return ahead.data.subarray(start - ahead.start, end - ahead.start);
  }

  /** Starts reading the chunk at `start` in the background; a failure shows when the chunk is awaited. */
  private readNext(start: number): void {
    if (start >= this.file.size) return;
    const next: NonNullable<Transfer['nextChunk']> = { start, ready: this.readChunk(start) };
    next.ready.then(
      (chunk) => (next.chunk = chunk),
      () => {},
    );
    this.nextChunk = next;
  }

  /** One file read serves many blocks, so a lock-step client is not also waiting for a read per block. */
  private async readChunk(start: number): Promise<Chunk> {
    const length = Math.max(this.blockSize, READ_AHEAD_BYTES - (READ_AHEAD_BYTES % this.blockSize));
    const data = await this.file.read(start, length);
    // A file that shrank since it was opened: reading on would find the same short end forever.
    if (data.length < Math.min(length, this.file.size - start))
      throw new Error(`file shrank while being served (${start + data.length} of ${this.file.size} bytes)`);
    return { start, data };
  }

  /**
   * Starts the wait for an ACK: busy-polled if the client answers fast, and
   * the retransmission timer (re)started; refreshing one timer costs less than
   * a new one per block.
   */
  private arm(): void {
    this.waitingSince = performance.now();
    if (this.answersFast) this.poll.hold();
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      if (this.finished) return;
      if (this.retriesLeft-- <= 0) return this.fail(`no ACK after ${TFTP_LIMITS.retries} retransmissions`);
      this.resendWindow();
    }, TFTP_LIMITS.timeoutMs);
  }

  private send(packet: Buffer): void {
    this.socket.send(packet);
  }

  /** A DATA packet as header and payload, handed to the kernel without copying the payload. */
  private sendData(block: number, payload: Buffer): void {
    const header = Buffer.allocUnsafe(4);
    header.writeUInt16BE(OP.DATA, 0);
    header.writeUInt16BE(block & 0xffff, 2);
    this.socket.send([header, payload]);
  }

  private succeed(): void {
    this.finish({ ok: true, durationMs: performance.now() - this.started });
  }

  private fail(reason: string): void {
    this.finish({ ok: false, reason });
  }

  private finish(outcome: Outcome): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    // Close after the last send was handed to the kernel.
    setImmediate(() => {
      try {
        this.socket.close();
      } catch {
        // already closed
      }
    });
    this.done(outcome);
  }
}
