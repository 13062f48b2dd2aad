/**
 * The other end of a running job's console share (console-share.ts), for
 * code in another process, such as a suite: readable text (escape sequences
 * removed) to subscribers, writes typed to the target, the last lines for
 * error messages. It is an ExpectConsole, so ConsoleExpect works on it.
 *
 * Reference: the share's framing in console-share.ts (0xff escapes 0xff).
 */
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { LabFault } from '../core/errors.js';
import { AnsiStripper } from './ansi.js';
import type { ExpectConsole } from './expect.js';
import { IAC } from './telnet.js';

const LAST_LINES = 40;

export class SharedConsole implements ExpectConsole {
  private readonly listeners = new Set<(text: string) => void>();
  private readonly decoder = new StringDecoder('utf8');
  private readonly stripper = new AnsiStripper();
  private readonly lines: string[] = [];
  private partial = '';

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
  }

  static async attach(socketPath: string): Promise<SharedConsole> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', (error) =>
        reject(new LabFault(`cannot attach to the job's console at ${socketPath}: ${error.message}`)),
      );
    });
    return new SharedConsole(socket);
  }

  subscribe(listener: (text: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  write(data: Buffer | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // 0xff is the share's escape byte: a data byte 0xff is sent twice.
    this.socket.write(
      bytes.includes(IAC) ? Buffer.from([...bytes].flatMap((b) => (b === IAC ? [IAC, IAC] : [b]))) : bytes,
    );
  }

  lastLines(count = 20): string[] {
    return (this.partial.trim() ? [...this.lines, this.partial] : [...this.lines]).slice(-count);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const text = this.stripper.push(this.decoder.write(chunk));
    if (!text) return;
    const parts = (this.partial + text).split('\n');
    this.partial = (parts.pop() ?? '').slice(-4096);
    for (const line of parts) if (line.trim()) this.lines.push(line);
    if (this.lines.length > LAST_LINES) this.lines.splice(0, this.lines.length - LAST_LINES);
    for (const listener of this.listeners) listener(text);
  }
}
