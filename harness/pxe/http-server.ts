/**
 * HTTP for iPXE clients: GET and HEAD of the names in the job's opened file
 * table, sent in chunks from two buffers per transfer (never read whole into memory). Hostile input:
 * other methods get 405, headers over 16 KiB get 431 (node's limit), a
 * request whose headers are not complete within HEADERS_TIMEOUT_MS or whose
 * connection is idle for IDLE_TIMEOUT_MS (slowloris, a stalled reader) is
 * closed, and at most MAX_CONNECTIONS connections are open at once.
 *
 * Tested against: iPXE from Debian's ipxe-qemu, curl, raw sockets (test/system/tftp-fuzz.test.ts).
 * Reference: RFC 9110 (HTTP semantics), node's http.Server (headersTimeout,
 * requestTimeout, maxHeaderSize, timeout, maxConnections), iPXE docs "kernel", "initrd", "chain".
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { FileServerMessage } from './file-server-messages.js';
import { lookupOpened, type OpenedFile, type OpenedTable } from './file-table.js';

type Report = (message: FileServerMessage) => void;

export const HTTP_LIMITS = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  /** How often node checks the two time-outs above (its default, 30 s, would let them run late). */
  checkIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 64,
  chunkBytes: 256 * 1024,
} as const;

/**
 * Sends the file in chunks from two buffers allocated once per transfer: a
 * buffer is read into again only after the socket has written it. A transfer
 * so holds two chunks, however large the file; a new buffer per chunk would
 * be freed only at a later garbage collection (tens of MiB in the file
 * server for an installer's initrd). `onProgress` is called each time the
 * client has taken a chunk.
 */
function sendFile(file: OpenedFile, response: ServerResponse, onProgress: () => void): void {
  const size = Math.max(1, Math.min(HTTP_LIMITS.chunkBytes, file.size));
  const free = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let position = 0;
  let reading = false;
  const pump = (): void => {
    if (reading || response.destroyed || response.writableEnded) return;
    if (position >= file.size) return void response.end();
    const buffer = free.pop();
    if (!buffer) return;
    reading = true;
    file.readInto(buffer, position).then(
      (length) => {
        reading = false;
        if (length === 0) return void response.destroy(new Error(`${file.name} ended early at byte ${position}`));
        position += length;
        response.write(buffer.subarray(0, length), () => {
          free.push(buffer);
          onProgress();
          pump();
        });
        pump();
      },
      (error: Error) => response.destroy(error),
    );
  };
  pump();
}

export function startHttp(address: string, port: number, table: OpenedTable, report: Report): Promise<Server> {
  const server = createServer(
    { maxHeaderSize: HTTP_LIMITS.maxHeaderBytes, connectionsCheckingInterval: HTTP_LIMITS.checkIntervalMs },
    (request, response) => {
      const client = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      const path = (request.url ?? '/').slice(0, 512);
      const started = performance.now();
      const fail = (status: number, reason: string) => {
        report({ type: 'file-failed', protocol: 'http', path, client, reason });
        response.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(`${reason}\n`);
      };
      if (request.method !== 'GET' && request.method !== 'HEAD') return fail(405, 'only GET and HEAD are served');
      report({ type: 'file-requested', protocol: 'http', path, client });
      const file = lookupOpened(table, request.url ?? '/');
      if (!file) return fail(404, "not in the job's file table");

      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.size });
      if (request.method === 'HEAD') return void response.end();
      response.on('finish', () =>
        report({
          type: 'file-served',
          protocol: 'http',
          path,
          role: file.role,
          client,
          bytes: file.size,
          durationMs: performance.now() - started,
        }),
      );
      response.on('close', () => {
        if (!response.writableFinished)
          report({ type: 'file-failed', protocol: 'http', path, client, reason: 'connection closed before the end' });
      });
      // A reader that stops taking data holds its connection only this long (the socket's own
      // idle timer does not fire while the kernel still trickles window updates).
      let lastProgress = performance.now();
      const watchdog = setInterval(() => {
        if (performance.now() - lastProgress > HTTP_LIMITS.idleTimeoutMs) response.destroy();
      }, HTTP_LIMITS.checkIntervalMs);
      response.on('close', () => clearInterval(watchdog));
      sendFile(file, response, () => (lastProgress = performance.now()));
    },
  );
  server.headersTimeout = HTTP_LIMITS.headersTimeoutMs;
  server.requestTimeout = HTTP_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = HTTP_LIMITS.keepAliveTimeoutMs;
  server.maxConnections = HTTP_LIMITS.maxConnections;
  // Idle sockets (nothing read or written for this long) are destroyed: a stalled reader cannot hold a connection.
  server.setTimeout(HTTP_LIMITS.idleTimeoutMs, (socket) => socket.destroy());
  // Malformed requests: node's own answer (400, 408 after a time-out, 431 for oversized headers) and close.
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
