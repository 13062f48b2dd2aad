/**
 * HTTP for iPXE clients: GET and HEAD of the names in the job's file table,
 * streamed from disk (never read whole into memory).
 *
 * Tested against: iPXE from Debian's ipxe-qemu, curl.
 * Reference: RFC 9110 (HTTP semantics), iPXE docs "kernel", "initrd", "chain".
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { FileServerMessage } from './file-server-messages.js';
import { lookup, type FileTable } from './file-table.js';

type Report = (message: FileServerMessage) => void;

export function startHttp(address: string, port: number, files: FileTable, report: Report): Promise<Server> {
  const server = createServer((request, response) => {
    const client = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    const path = request.url ?? '/';
    const started = performance.now();
    const fail = (status: number, reason: string) => {
      report({ type: 'file-failed', protocol: 'http', path, client, reason });
      response.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(`${reason}\n`);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return fail(405, 'only GET and HEAD are served');
    report({ type: 'file-requested', protocol: 'http', path, client });
    const file = lookup(files, path);
    if (!file) return fail(404, 'not in the job\'s file table');

    void (async () => {
      const size = 'content' in file ? Buffer.byteLength(file.content) : (await stat(file.path)).size;
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      if (request.method === 'HEAD') return void response.end();
      const served = () =>
        report({ type: 'file-served', protocol: 'http', path, role: file.role, client, bytes: size, durationMs: performance.now() - started });
      response.on('finish', served);
      response.on('close', () => {
        if (!response.writableFinished) report({ type: 'file-failed', protocol: 'http', path, client, reason: 'client closed the connection' });
      });
      if ('content' in file) response.end(file.content);
      else createReadStream(file.path).on('error', (error) => response.destroy(error)).pipe(response);
    })().catch((error: Error) => fail(500, error.message));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
