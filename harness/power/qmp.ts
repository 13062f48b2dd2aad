/**
 * A minimal QMP (QEMU Machine Protocol) client over a unix socket.
 *
 * Tested against: qemu-system-x86_64 7.2 (Debian 12).
 * Reference: QEMU QMP specification (docs/interop/qmp-spec), commands
 * qmp_capabilities, query-status, system_reset, cont, quit.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { type Deadline, sleep } from '../core/deadline.js';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export class QmpClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  private constructor(private readonly socket: Socket) {
    // readline passes the socket's errors on; the 'close' below settles what was pending.
    createInterface({ input: socket })
      .on('line', (line) => this.onLine(line))
      .on('error', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const { reject } of this.pending.values()) reject(new Error('QMP connection closed'));
      this.pending.clear();
    });
  }

  /** Connects (retrying until the socket exists) and negotiates capabilities. */
  static async connect(path: string, deadline: Deadline): Promise<QmpClient> {
    const socket = await deadline.poll(async () => {
      try {
        return await openSocket(path);
      } catch {
        await sleep(20);
        return undefined;
      }
    });
    const client = new QmpClient(socket);
    await client.execute('qmp_capabilities');
    return client;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed'));
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    return promise;
  }

  close(): void {
    this.socket.destroy();
  }

  private onLine(line: string): void {
    let message: { id?: number; return?: unknown; error?: { class: string; desc: string } };
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.id === undefined) return; // greeting or asynchronous event
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`QMP ${message.error.class}: ${message.error.desc}`));
    else waiter.resolve(message.return);
  }
}

function openSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
