/**
 * TFTP for the job, with the npm `tftp` package: read-only, serving only the
 * names in the job's file table (blksize, tsize and windowsize negotiated by
 * the package).
 *
 * Tested against: PXE ROMs of QEMU (iPXE), pxelinux 6.04, curl's TFTP client.
 * Reference: RFC 1350 (TFTP), RFC 2347/2348/2349 (options, blksize, tsize), RFC 7440 (windowsize).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import tftp from 'tftp';
import type { FileServerMessage } from './file-server-messages.js';
import { lookup, type FileTable } from './file-table.js';

type Report = (message: FileServerMessage) => void;

export type TftpHandle = { port: number; close(): void };

export function startTftp(address: string, port: number, files: FileTable, rootDir: string, report: Report): Promise<TftpHandle> {
  const server = tftp.createServer({ host: address, port, root: rootDir, denyPUT: true }, (req, res) => {
    const client = `${req.stats.remoteAddress}:${req.stats.remotePort}`;
    const path = req.file;
    const started = performance.now();
    let failure: string | undefined;
    req.on('error', (error: Error) => (failure = error.message));
    req.on('abort', () => (failure ??= 'aborted'));
    report({ type: 'file-requested', protocol: 'tftp', path, client });

    const file = lookup(files, path);
    if (!file) {
      report({ type: 'file-failed', protocol: 'tftp', path, client, reason: 'not in the job\'s file table' });
      req.abort(tftp.ENOENT);
      return;
    }
    void (async () => {
      let size: number;
      let body: Readable;
      if ('content' in file) {
        const bytes = Buffer.from(file.content);
        size = bytes.length;
        body = Readable.from([bytes]);
      } else {
        size = (await stat(file.path)).size;
        body = createReadStream(file.path);
      }
      req.on('close', () =>
        setImmediate(() => {
          if (failure) report({ type: 'file-failed', protocol: 'tftp', path, client, reason: failure });
          else
            report({ type: 'file-served', protocol: 'tftp', path, role: file.role, client, bytes: size, durationMs: performance.now() - started });
        }),
      );
      res.setSize(size);
      body.pipe(res);
    })().catch((error: Error) => {
      report({ type: 'file-failed', protocol: 'tftp', path, client, reason: error.message });
      req.abort(tftp.EIO);
    });
  });
  server.on('error', () => {
    // Malformed packets land here; the server keeps serving.
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.on('listening', () => {
      server.off('error', reject);
      resolve({ port, close: () => server.close() });
    });
    server.listen();
  });
}
