/**
 * Messages between the harness and its file server process, which runs inside
 * the job's network namespace so that its sockets (and TFTP's per-transfer
 * sockets) are bound there.
 */
import type { StepEventBodyOf } from '../core/events.js';
import type { FileTable } from './file-table.js';

export type FileServerConfig = {
  address: string;
  tftpPort: number;
  httpPort: number;
  files: FileTable;
  /** Table paths must resolve (symlinks followed) to regular files inside one of these directories. */
  roots: string[];
  /** Microseconds TFTP polls for a fast client's ACK instead of sleeping (busy-poll.ts); 0: never. */
  tftpBusyPollUs: number;
};

export type FileServerMessage =
  | { type: 'ready'; tftpPort: number; httpPort: number }
  | { type: 'fatal'; message: string }
  /** The file server's own step events, passed on to the run's bus. */
  | StepEventBodyOf<'file-requested' | 'file-served' | 'file-failed'>;
