/**
 * Console of a QEMU virtual board: the harness listens on a unix socket and
 * QEMU's serial chardev connects to it as a client. The listener outlives the
 * VM, so a power cycle (a new QEMU process) reconnects like a real serial
 * line would, and no byte is sent before the harness is listening.
 *
 * Tested against: qemu-system-x86_64 7.2 (Debian 12), `-chardev socket,server=off`.
 * Reference: QEMU System Emulation, "Character device options" (-chardev socket).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { listenPrivate } from '../core/private-dir.js';
import type { ConsoleSink, ConsoleSource } from './console.js';

export class QemuSocketConsole implements ConsoleSource {
  private server: Server | undefined;
  private peer: Socket | undefined;

  constructor(readonly socketPath: string) {}

  get endpoint(): string {
    return `unix:${this.socketPath}`;
  }

  async open(sink: ConsoleSink): Promise<void> {
    const server = createServer((socket) => {
      if (this.peer) this.peer.destroy();
      this.peer = socket;
      sink.state('connected', 'QEMU serial port attached');
      socket.on('data', (chunk: Buffer) => sink.data(chunk));
      socket.on('error', () => {});
      socket.on('close', () => {
        if (this.peer === socket) this.peer = undefined;
        sink.state('disconnected', 'QEMU serial port detached');
      });
    });
    await listenPrivate(server, this.socketPath);
    this.server = server;
  }

  write(data: Buffer | string): void {
    this.peer?.write(data);
  }

  async close(): Promise<void> {
    this.peer?.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }
}
