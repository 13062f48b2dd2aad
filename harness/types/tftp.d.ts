// Types for the parts of the npm `tftp` package (gagle/node-tftp 0.1.x) that the harness uses.
declare module 'tftp' {
  import type { EventEmitter } from 'node:events';
  import type { Readable, Writable } from 'node:stream';

  export type Stats = {
    blockSize: number;
    windowSize: number;
    size: number | null;
    localAddress: string;
    localPort: number;
    remoteAddress: string;
    remotePort: number;
  };

  export interface ServerRequest extends Readable {
    file: string;
    method: 'GET' | 'PUT';
    stats: Stats;
    abort(error?: string | Error): void;
    close(): void;
  }

  export interface ServerResponse extends Writable {
    setSize(size: number): void;
  }

  export interface Server extends EventEmitter {
    listen(): void;
    close(): void;
    host: string;
    port: number;
  }

  export type ServerOptions = {
    host?: string;
    port?: number;
    root?: string;
    denyGET?: boolean;
    denyPUT?: boolean;
    blockSize?: number;
    windowSize?: number;
    retries?: number;
    timeout?: number;
  };

  export function createServer(
    options: ServerOptions,
    listener?: (req: ServerRequest, res: ServerResponse) => void,
  ): Server;

  export interface Client {
    createGetStream(remote: string, options?: Record<string, unknown>): Readable & EventEmitter;
    get(remote: string, local: string, callback: (error?: Error) => void): void;
  }
  export function createClient(options: {
    host?: string;
    port?: number;
    blockSize?: number;
    windowSize?: number;
    retries?: number;
    timeout?: number;
  }): Client;

  export const ENOENT: string;
  export const EACCESS: string;
  export const EIO: string;

  const tftp: {
    createServer: typeof createServer;
    createClient: typeof createClient;
    ENOENT: string;
    EACCESS: string;
    EIO: string;
  };
  export default tftp;
}
