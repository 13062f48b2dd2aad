/**
 * The serial console against a real pty pair (socat): reading, writing, an
 * adapter that goes away and comes back mid-stream, one holder per port.
 */
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from '../../harness/core/process.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleHub } from '../../harness/console/console-hub.js';
import { ConsoleExpect } from '../../harness/console/expect.js';
import { SerialPortConsole, type SerialSettings } from '../../harness/console/serial-port.js';
import { LabFault } from '../../harness/core/errors.js';
import { EventBus, type StepEvent } from '../../harness/core/events.js';
import { writeJobRecord } from '../../harness/core/job-record.js';
import { PtyPair, PtyPeer } from '../support/pty.js';

let dir: string;
let pair: PtyPair | undefined;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hil-serial-'));
  pair = await PtyPair.start(dir);
});

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await pair?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const settings = (path: string): SerialSettings => ({
  path,
  baud: 115200,
  parity: 'none',
  dataBits: 8,
  stopBits: 1,
  flowControl: 'none',
});

async function openHub(bus = new EventBus()): Promise<{ hub: ConsoleHub; bus: EventBus; events: StepEvent[] }> {
  const events: StepEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const hub = new ConsoleHub(new SerialPortConsole(settings(pair!.a), { firstMs: 50, maxMs: 200 }), bus);
  await hub.open({ raw: join(dir, 'console.raw'), text: join(dir, 'console.log') });
  cleanups.push(() => hub.close());
  return { hub, bus, events };
}

function peer(path: string): PtyPeer {
  const p = new PtyPeer(path);
  cleanups.push(() => p.close());
  return p;
}

describe('serial port console', () => {
  it('reads the board and types to it', async () => {
    const board = peer(pair!.b);
    const { hub, events } = await openHub();
    expect(events.filter((e) => e.type === 'console').map((e) => (e as { detail?: string }).detail)).toEqual([
      `${pair!.a} 115200 8N1`,
    ]);
    const session = new ConsoleExpect(hub);
    await board.write('U-Boot 2023.01 (Jan 01 2023)\r\nHit any key to stop autoboot:  3 ');
    const found = await session.expect(/Hit any key to stop autoboot/, { timeoutMs: 10_000 });
    expect(found.before).toBe('U-Boot 2023.01 (Jan 01 2023)\n');
    session.sendLine('version');
    await board.waitFor('version\r');
    expect(board.received).toBe('version\r');
    session.close();
  });

  it('reconnects when the adapter goes away and loses nothing written after it is back', async () => {
    let board = peer(pair!.b);
    const { hub, bus } = await openHub();
    const session = new ConsoleExpect(hub);
    await board.write('before unplug\r\n');
    await session.expect('before unplug\n', { timeoutMs: 10_000 });

    const gone = bus.next('console', (e) => e.state === 'disconnected').promise;
    await pair!.stop(); // the adapter is unplugged: both pty ends vanish
    await gone;
    hub.write('typed while unplugged\r');

    const back = bus.next('console', (e) => e.state === 'connected').promise;
    pair = await PtyPair.start(dir); // replugged under the same name
    board = peer(pair.b);
    const reconnected = await back;
    expect(reconnected.detail).toMatch(new RegExp(`^${pair.a} 115200 8N1 \\(again, after \\d+ attempts?`));

    // What was typed while the port was gone reaches the board once it is back.
    await board.waitFor('typed while unplugged\r');
    const payload = Array.from({ length: 300 }, (_, i) => `after replug line ${i}\r\n`).join('');
    await board.write(payload);
    await session.expect('after replug line 299\n', { timeoutMs: 10_000 });
    await hub.close();
    cleanups.length = 0;
    board.close();

    expect(readFileSync(join(dir, 'console.raw'), 'latin1')).toBe(`before unplug\r\n${payload}`);
    const log = readFileSync(join(dir, 'console.log'), 'utf8');
    const lines = log.split('\n').map((line) => line.replace(/^\[\s*\d+\.\d{3}\] /, ''));
    expect(lines.filter((l) => l.startsWith('after replug line'))).toEqual(
      Array.from({ length: 300 }, (_, i) => `after replug line ${i}`),
    );
    expect(
      lines
        .filter((l) => l.startsWith('--- pxe-hil: console'))
        .map((l) => l.replace(/ \(again.*/, '').replace(/: \/\S+ went away.*/, ': went away')),
    ).toEqual([
      `--- pxe-hil: console connected: ${pair.a} 115200 8N1 ---`,
      `--- pxe-hil: console disconnected: went away`,
      `--- pxe-hil: console connected: ${pair.a} 115200 8N1`,
    ]);
  });

  it('lets one job hold a port, and names the holder to the next', async () => {
    await openHub();
    const second = new SerialPortConsole(settings(pair!.a));
    const error = await second.open({ data: () => {}, state: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabFault);
    expect((error as Error).message).toBe(
      `serial port ${pair!.a} is in use by this process (pid ${process.pid}); one job holds a port at a time (attach with: hil console --target <target>)`,
    );
  });

  it('names a holder in another process, and the job it belongs to', async () => {
    // flock(1) takes the same kind of lock serialport takes, and keeps the port open while sleep runs.
    const holder = startChild('flock', 'flock', ['--exclusive', '--nonblock', pair!.a, 'sleep', '600']);
    cleanups.push(async () => {
      await holder.stop();
    });
    const runtime = join(dir, 'runtime');
    await waitForHolder(holder.pid!, pair!.a);
    const second = new SerialPortConsole(settings(pair!.a));
    const first = (await second.open({ data: () => {}, state: () => {} }).catch((e: unknown) => e)) as Error;
    expect(first.message).toBe(
      `serial port ${pair!.a} is in use by pid ${holder.pid} (flock); one job holds a port at a time (attach with: hil console --target <target>)`,
    );

    mkdirSync(join(runtime, '0badf00d'), { recursive: true });
    await writeJobRecord(join(runtime, '0badf00d'), {
      jobId: '0badf00d',
      target: 'board-7',
      image: 'busybox',
      runId: 'jenkins-lab-42',
      pid: holder.pid,
      build: 'jenkins-lab-42',
    });
    const saved = process.env.PXE_HIL_RUNTIME_DIR;
    process.env.PXE_HIL_RUNTIME_DIR = runtime;
    try {
      const again = (await second.open({ data: () => {}, state: () => {} }).catch((e: unknown) => e)) as Error;
      expect(again.message).toBe(
        `serial port ${pair!.a} is in use by pid ${holder.pid} (flock), job 0badf00d on target board-7, build jenkins-lab-42; one job holds a port at a time (attach with: hil console --target <target>)`,
      );
    } finally {
      if (saved === undefined) delete process.env.PXE_HIL_RUNTIME_DIR;
      else process.env.PXE_HIL_RUNTIME_DIR = saved;
    }
  });
});

/** Waits until `pid` has the port open (flock has started). */
async function waitForHolder(pid: number, path: string): Promise<void> {
  const { Deadline } = await import('../../harness/core/deadline.js');
  const { findPortHolders } = await import('../../harness/console/port-holder.js');
  await Deadline.in(10_000, `pid ${pid} to open ${path}`).poll(async () =>
    (await findPortHolders(path)).some((h) => h.pid === pid) ? true : undefined,
  );
}
