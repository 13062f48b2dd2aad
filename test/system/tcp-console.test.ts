/**
 * The TCP console against a real console server: ser2net serving a socat pty
 * on 127.0.0.1, raw and telnet; reading, typing, a console server restart
 * mid-stream.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConsoleHub } from '../../harness/console/console-hub.js';
import { ConsoleExpect } from '../../harness/console/expect.js';
import { TcpConsole } from '../../harness/console/tcp.js';
import { LabFault } from '../../harness/core/errors.js';
import { EventBus } from '../../harness/core/events.js';
import { PtyPair, PtyPeer } from '../support/pty.js';
import { freeTcpPort } from '../support/ports.js';
import { testScope } from '../support/scope.js';
import { Ser2net } from '../support/ser2net.js';

const scope = testScope();
let dir: string;
let pair: PtyPair;
let port: number;

beforeEach(async () => {
  dir = scope.tempDir('hil-tcp-');
  pair = await scope.start(PtyPair.start(dir));
  port = await freeTcpPort();
});

async function openHub(telnet: boolean): Promise<{ hub: ConsoleHub; bus: EventBus; close: () => Promise<void> }> {
  const bus = new EventBus();
  const hub = new ConsoleHub(new TcpConsole({ host: '127.0.0.1', port, telnet }, { firstMs: 50, maxMs: 200 }), bus);
  await hub.open({ raw: join(dir, 'console.raw'), text: join(dir, 'console.log') });
  const close = scope.defer(() => hub.close());
  return { hub, bus, close };
}

/** Writes numbered sync lines from the board until the harness has seen one: from then on the path is up end to end. */
async function syncUp(board: PtyPeer, session: ConsoleExpect): Promise<void> {
  for (let i = 0; ; i++) {
    await board.write(`sync ${i}\r\n`);
    try {
      await session.expect(`sync ${i}\n`, { timeoutMs: 200 });
      session.discard();
      return;
    } catch (error) {
      if (i >= 50) throw error;
    }
  }
}

describe.each([
  { mode: 'raw', telnet: false },
  { mode: 'telnet', telnet: true },
])('TCP console through ser2net ($mode)', ({ telnet }) => {
  it('reads the board and types to it', async () => {
    const board = new PtyPeer(pair.b);
    scope.defer(() => board.close());
    await scope.start(Ser2net.start(dir, pair.a, port, telnet));
    const { hub } = await openHub(telnet);
    const session = new ConsoleExpect(hub);
    await syncUp(board, session);
    await board.write('U-Boot 2023.01\r\n=> ');
    expect(await session.expect('=> ', { timeoutMs: 10_000 })).toEqual({
      match: '=> ',
      before: 'U-Boot 2023.01\n',
      groups: [],
    });
    board.received = '';
    session.sendLine('printenv bootcmd');
    await board.waitFor('printenv bootcmd\r');
    expect(board.received).toBe('printenv bootcmd\r');
    // A 0xff byte passes both ways (doubled on the wire in telnet mode).
    hub.write(Buffer.from([0x41, 0xff, 0x42]));
    await board.waitFor('A\xffB');
    expect(board.received).toBe('printenv bootcmd\rA\xffB');
    // A break is a telnet command (IAC BRK) that ser2net turns into a break on the line, never data; raw TCP has none.
    expect(await hub.sendBreak()).toBe(telnet);
    hub.write('after break');
    await board.waitFor('after break');
    expect(board.received).toBe('printenv bootcmd\rA\xffBafter break');
    session.close();
  });

  it('reconnects when the console server restarts, and loses nothing after it is back', async () => {
    const board = new PtyPeer(pair.b);
    scope.defer(() => board.close());
    let server = await scope.start(Ser2net.start(dir, pair.a, port, telnet));
    const { hub, bus, close } = await openHub(telnet);
    const session = new ConsoleExpect(hub);
    await syncUp(board, session);

    const gone = bus.next('console', (e) => e.state === 'disconnected').promise;
    await server.stop();
    expect((await gone).detail).toBe('the console server closed the connection');
    hub.write('typed while down\r');
    const back = bus.next('console', (e) => e.state === 'connected').promise;
    server = await scope.start(Ser2net.start(dir, pair.a, port, telnet));
    expect((await back).detail).toMatch(
      new RegExp(`^127\\.0\\.0\\.1:${port}${telnet ? ' \\(telnet\\)' : ''} \\(again, after \\d+ attempts?`),
    );

    await board.waitFor('typed while down\r');
    await syncUp(board, session);
    const payload = Array.from({ length: 300 }, (_, i) => `after restart line ${i}\r\n`).join('');
    await board.write(payload);
    await session.expect('after restart line 299\n', { timeoutMs: 10_000 });
    await close();

    const raw = readFileSync(join(dir, 'console.raw'), 'latin1');
    expect(raw.slice(raw.lastIndexOf('\r\n', raw.length - payload.length - 1) + 2)).toBe(payload);
    const lines = readFileSync(join(dir, 'console.log'), 'utf8')
      .split('\n')
      .map((line) => line.replace(/^\[\s*\d+\.\d{3}\] /, ''));
    expect(lines.filter((l) => l.startsWith('after restart line'))).toEqual(
      Array.from({ length: 300 }, (_, i) => `after restart line ${i}`),
    );
    expect(lines.filter((l) => l.startsWith('--- pxe-hil: console')).map((l) => l.replace(/ \(again.*/, ''))).toEqual([
      `--- pxe-hil: console connected: 127.0.0.1:${port}${telnet ? ' (telnet)' : ''} ---`,
      '--- pxe-hil: console disconnected: the console server closed the connection ---',
      `--- pxe-hil: console connected: 127.0.0.1:${port}${telnet ? ' (telnet)' : ''}`,
    ]);
  });
});

it('says which console server did not answer', async () => {
  const source = new TcpConsole({ host: '127.0.0.1', port: await freeTcpPort(), telnet: false });
  const error = await source.open({ data: () => {}, state: () => {} }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(LabFault);
  expect((error as Error).message).toMatch(
    /^console server 127\.0\.0\.1:\d+ refused or did not answer \(ECONNREFUSED\); is it running and is the port right\?$/,
  );
});
