import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleHub } from '../../harness/console/console-hub.js';
import {
  type ConsoleShare,
  encodeShareData,
  SHARE_BREAK,
  SHARE_LIMITS,
  ShareDecoder,
  shareConsole,
} from '../../harness/console/console-share.js';
import { EventBus } from '../../harness/core/events.js';
import { FeedConsole } from '../support/fake-console.js';

describe('console share framing', () => {
  it('carries 0xff data and break requests, split anywhere', () => {
    const wire = Buffer.concat([
      Buffer.from('ab'),
      encodeShareData(Buffer.from([0xff, 0x41])),
      SHARE_BREAK,
      Buffer.from('c'),
    ]);
    expect([...wire]).toEqual([0x61, 0x62, 0xff, 0xff, 0x41, 0xff, 0xf3, 0x63]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const decoder = new ShareDecoder();
      const first = decoder.decode(wire.subarray(0, cut));
      const second = decoder.decode(wire.subarray(cut));
      expect([...Buffer.concat([first.data, second.data])], `cut at ${cut}`).toEqual([0x61, 0x62, 0xff, 0x41, 0x63]);
      expect(first.breaks + second.breaks, `cut at ${cut}`).toBe(1);
    }
  });
});

/** A terminal on the share socket (a real unix socket): what it has read, and whether the share let it go. */
type Terminal = { socket: Socket; received: Buffer[]; bytes: () => number; closed: Promise<void> };

async function attach(path: string): Promise<Terminal> {
  const socket = connect(path);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received, bytes: () => received.reduce((n, c) => n + c.length, 0), closed };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('console share limits (real unix sockets)', () => {
  let dir: string;
  let source: FeedConsole;
  let hub: ConsoleHub;
  let share: ConsoleShare;
  const terminals: Terminal[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hil-share-'));
    source = new FeedConsole();
    hub = new ConsoleHub(source, new EventBus());
    await hub.open({ raw: join(dir, 'console.raw'), text: join(dir, 'console.log') });
  });

  afterEach(async () => {
    for (const terminal of terminals.splice(0)) terminal.socket.destroy();
    await share?.close();
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a limit of 8 terminals and 1 MiB waiting per terminal', () => {
    expect(SHARE_LIMITS).toEqual({ clients: 8, bufferedBytes: 1024 * 1024 });
  });

  it('turns a terminal beyond the limit away with a message, and keeps serving the others', async () => {
    share = await shareConsole(hub, join(dir, 'share.sock'), { clients: 2, bufferedBytes: 1024 * 1024 });
    terminals.push(await attach(share.socketPath), await attach(share.socketPath));
    const third = await attach(share.socketPath);
    terminals.push(third);
    await third.closed;
    expect(Buffer.concat(third.received).toString()).toBe(
      'pxe-hil: this console already has 2 terminals attached; detach one (Ctrl-] q) and try again\r\n',
    );
    source.feed('login: ');
    for (const terminal of terminals.slice(0, 2)) {
      while (terminal.bytes() < 7) await tick();
      expect(Buffer.concat(terminal.received).toString()).toBe('login: ');
    }
    expect(readFileSync(join(dir, 'console.log'), 'utf8')).toContain(
      '--- pxe-hil: a terminal was turned away: 2 already attached ---',
    );
    // One leaves: there is room again.
    terminals[0]!.socket.destroy();
    await terminals[0]!.closed;
    while (!readFileSync(join(dir, 'console.log'), 'utf8').includes('a terminal detached')) await tick();
    const fourth = await attach(share.socketPath);
    terminals.push(fourth);
    source.feed('x');
    while (fourth.bytes() < 1) await tick();
    expect(Buffer.concat(fourth.received).toString()).toBe('x');
  });

  it('detaches a terminal that stops reading once too much waits for it; a reading one gets every byte', async () => {
    const bound = 256 * 1024;
    share = await shareConsole(hub, join(dir, 'share.sock'), { clients: 8, bufferedBytes: bound });
    const reader = await attach(share.socketPath);
    const stalled = await attach(share.socketPath);
    terminals.push(reader, stalled);
    stalled.socket.pause();
    // 8 MiB of console output, in chunks as a console delivers them, with the event loop turning between.
    const sent: Buffer[] = [];
    for (let i = 0; i < 512; i++) {
      const chunk = Buffer.alloc(16 * 1024, i % 251);
      sent.push(chunk);
      source.feed(chunk);
      await tick();
    }
    const all = Buffer.concat(sent);
    while (reader.bytes() < all.length) await tick();
    expect(digest(Buffer.concat(reader.received))).toBe(digest(all));
    expect(reader.socket.destroyed).toBe(false);
    // The stalled terminal reads again: it finds what was in flight when it was let go, then the end.
    stalled.socket.resume();
    await stalled.closed;
    expect(stalled.bytes()).toBeGreaterThan(0);
    expect(stalled.bytes()).toBeLessThan(all.length / 2);
    expect(readFileSync(join(dir, 'console.log'), 'utf8')).toContain(
      `--- pxe-hil: a terminal was detached: it read too slowly (over ${bound} bytes waiting) ---`,
    );
  });
});
