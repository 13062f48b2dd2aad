/**
 * Messages between the harness and its file server process, which runs inside
 * the job's network namespace so that its sockets (and TFTP's per-transfer
 * sockets) are bound there.
 */
import type { FileRole } from '../core/boot.js';
import type { FileProtocol } from '../core/events.js';
import type { FileTable } from './file-table.js';

export type FileServerConfig = {
  address: string;
  tftpPort: number;
  httpPort: number;
  files: FileTable;
  /** Table paths must resolve (symlinks followed) to regular files inside one of these directories. */
  roots: string[];
};

export type FileServerMessage =
  | { type: 'ready'; tftpPort: number; httpPort: number }
  | { type: 'fatal'; message: string }
  | { type: 'file-requested'; protocol: FileProtocol; path: string; client: string }
  | {
      type: 'file-served';
      protocol: FileProtocol;
      path: string;
      role: FileRole;
      client: string;
      bytes: number;
      durationMs: number;
    }
  | { type: 'file-failed'; protocol: FileProtocol; path: string; client: string; reason: string };
