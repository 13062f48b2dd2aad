/**
 * A running job's console, shared with terminals (`hil console`) instead of
 * fought over: the job's ConsoleHub stays the single reader of the port and
 * serves a unix socket in the job's work directory. Each attached terminal
 * gets the console's bytes as read; what it sends is typed to the target.
 *
 * From the terminal to the hub, byte 0xff starts a command, as in telnet:
 * 0xff 0xff is a data byte 0xff, 0xff 0xf3 (BRK) asks for a serial break.
 * From the hub to the terminal, bytes are passed as they are.
 *
 * Reference: unix(7), RFC 854 (IAC, BRK: the same two codes).
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { ConsoleHub } from './console-hub.js';
import { BRK, IAC } from './telnet.js';

export type ConsoleShare = { socketPath: string; close(): Promise<void> };

export async function shareConsole(hub: ConsoleHub, socketPath: string): Promise<ConsoleShare> {
  await rm(socketPath, { force: true });
  const clients = new Set<Socket>();
  const unsubscribe = hub.subscribeRaw((chunk) => {
    for (const client of clients) client.write(chunk);
  });
  const server: Server = createServer((socket) => {
    clients.add(socket);
    hub.note('a terminal attached to the console');
    const decoder = new ShareDecoder();
    socket.on('data', (chunk: Buffer) => {
      const { data, breaks } = decoder.decode(chunk);
      if (data.length > 0) hub.write(data);
      for (let i = 0; i < breaks; i++) {
        void hub.sendBreak().then(
          (sent) =>
            hub.note(sent ? 'a terminal sent a break' : 'a terminal asked for a break; this console cannot send one'),
          (error: unknown) =>
            hub.note(
              `a terminal asked for a break; it failed: ${error instanceof Error ? error.message : String(error)}`,
            ),
        );
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clients.delete(socket);
      hub.note('a terminal detached from the console');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    async close() {
      unsubscribe();
      for (const client of clients) client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}

/** Terminal-to-hub bytes: data with 0xff doubled, and break requests. */
export class ShareDecoder {
  private afterIac = false;

  decode(chunk: Buffer): { data: Buffer; breaks: number } {
    const out = Buffer.allocUnsafe(chunk.length);
    let n = 0;
    let breaks = 0;
    for (const byte of chunk) {
      if (this.afterIac) {
        this.afterIac = false;
        if (byte === IAC) out[n++] = IAC;
        else if (byte === BRK) breaks++;
      } else if (byte === IAC) this.afterIac = true;
      else out[n++] = byte;
    }
    return { data: out.subarray(0, n), breaks };
  }
}

export function encodeShareData(data: Buffer): Buffer {
  if (!data.includes(IAC)) return data;
  const out: number[] = [];
  for (const byte of data) {
    out.push(byte);
    if (byte === IAC) out.push(IAC);
  }
  return Buffer.from(out);
}

export const SHARE_BREAK = Buffer.from([IAC, BRK]);
