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
 * The socket is 0600 in the job's 0700 directory. Terminals are limited in
 * number, and one that stops reading is detached once too much waits for it
 * (SHARE_LIMITS), so no terminal can make the harness hold the console's
 * output without bound.
 *
 * Reference: unix(7), RFC 854 (IAC, BRK: the same two codes).
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { listenPrivate } from '../core/private-dir.js';
import type { ConsoleHub } from './console-hub.js';
import { BRK, IAC } from './telnet.js';

export type ConsoleShare = { socketPath: string; close(): Promise<void> };

/**
 * At most `clients` terminals at once (one more is told so and let go), and
 * at most `bufferedBytes` waiting for one terminal: a terminal that does not
 * read is detached rather than let the harness's memory grow.
 */
export type ShareLimits = { clients: number; bufferedBytes: number };

export const SHARE_LIMITS: ShareLimits = { clients: 8, bufferedBytes: 1024 * 1024 };

export async function shareConsole(
  hub: ConsoleHub,
  socketPath: string,
  limits: ShareLimits = SHARE_LIMITS,
): Promise<ConsoleShare> {
  const clients = new Set<Socket>();
  const unsubscribe = hub.subscribeRaw((chunk) => {
    for (const client of clients) {
      client.write(chunk);
      if (client.writableLength <= limits.bufferedBytes) continue;
      clients.delete(client);
      client.destroy();
      hub.note(`a terminal was detached: it read too slowly (over ${limits.bufferedBytes} bytes waiting)`);
    }
  });
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    if (clients.size >= limits.clients) {
      socket.end(
        `pxe-hil: this console already has ${limits.clients} terminals attached; detach one (Ctrl-] q) and try again\r\n`,
      );
      hub.note(`a terminal was turned away: ${limits.clients} already attached`);
      return;
    }
    serveTerminal(hub, socket, clients);
  });
  await listenPrivate(server, socketPath);
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

/** One attached terminal: what it sends is typed to the target (breaks asked for with IAC BRK). */
function serveTerminal(hub: ConsoleHub, socket: Socket, clients: Set<Socket>): void {
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
  socket.on('close', () => {
    if (clients.delete(socket)) hub.note('a terminal detached from the console');
  });
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
