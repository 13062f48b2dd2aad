/**
 * Real serial-line stand-ins for tests: a socat pty pair (the harness opens
 * one end as its "serial port", the test plays the board on the other), a
 * socat bridge from a TCP port on 127.0.0.1 to a Unix socket (a BMC's serial
 * device on one side, a QEMU board's serial port on the other), and a peer
 * that reads and writes a pty end.
 */
import { constants, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import tty from 'node:tty';
import { Deadline } from '../../harness/core/deadline.js';
import { startChild, type Child } from '../../harness/core/process.js';

export class PtyPair {
  private constructor(
    readonly a: string,
    readonly b: string,
    readonly child: Child,
  ) {}

  /** Starts `socat pty,link=<dir>/a pty,link=<dir>/b` and waits until both ends are there. */
  static async start(dir: string): Promise<PtyPair> {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    let ready: () => void = () => {};
    const started = new Promise<void>((resolve) => (ready = resolve));
    const child = startChild('socat', 'socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
      onStderrLine: (line) => {
        if (line.includes('starting data transfer loop')) ready();
      },
    });
    try {
      await Deadline.in(10_000, 'socat to make its pty pair').race(
        Promise.race([started, child.exited.then(() => Promise.reject(new Error('socat exited')))]),
      );
      if (!existsSync(a) || !existsSync(b)) throw new Error('socat did not make its links');
    } catch (error) {
      await child.stop();
      throw error;
    }
    return new PtyPair(a, b, child);
  }

  async stop(): Promise<void> {
    await this.child.stop();
  }
}

export class SocketBridge {
  private constructor(
    readonly tcpPort: number,
    readonly socket: string,
    readonly child: Child,
  ) {}

  /**
   * Starts `socat TCP-LISTEN:<port> UNIX-LISTEN:<socket>` and waits until it listens on the TCP side: the
   * TCP end is taken first (ipmi_sim connects when it starts), the Unix end next (QEMU, when powered on).
   */
  static async start(tcpPort: number, socket: string): Promise<SocketBridge> {
    let listening: () => void = () => {};
    const ready = new Promise<void>((resolve) => (listening = resolve));
    const child = startChild(
      'socat',
      'socat',
      ['-d', '-d', `TCP-LISTEN:${tcpPort},bind=127.0.0.1,reuseaddr`, `UNIX-LISTEN:${socket},unlink-early`],
      {
        onStderrLine: (line) => {
          if (line.includes('listening on')) listening();
        },
      },
    );
    try {
      await Deadline.in(10_000, 'socat to listen').race(
        Promise.race([ready, child.exited.then(() => Promise.reject(new Error('socat exited')))]),
      );
    } catch (error) {
      await child.stop();
      throw error;
    }
    return new SocketBridge(tcpPort, socket, child);
  }

  async stop(): Promise<void> {
    await this.child.stop();
  }
}

/** The board's side of a pty: everything read is kept in `received`. */
export class PtyPeer {
  received = '';
  private readonly reader: tty.ReadStream;
  private readonly writer: tty.WriteStream;
  private readonly listeners = new Set<(text: string) => void>();

  constructor(path: string) {
    const flags = constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK;
    this.reader = new tty.ReadStream(openSync(path, flags));
    this.writer = new tty.WriteStream(openSync(path, flags));
    this.reader.on('data', (chunk: Buffer) => {
      this.received += chunk.toString('latin1');
      for (const listener of this.listeners) listener(chunk.toString('latin1'));
    });
    this.reader.on('error', () => {});
    this.writer.on('error', () => {});
  }

  onData(listener: (text: string) => void): void {
    this.listeners.add(listener);
  }

  write(text: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.writer.write(text, (error) => (error ? reject(error) : resolve())));
  }

  /** Waits until `text` has been received. */
  async waitFor(text: string, timeoutMs = 10_000): Promise<void> {
    await Deadline.in(timeoutMs, `${JSON.stringify(text)} at the board's end of the pty`).poll(
      () => (this.received.includes(text) ? true : undefined),
      10,
    );
  }

  close(): void {
    this.reader.destroy();
    this.writer.destroy();
  }
}
