/**
 * The single reader of a job's console. It owns the source and fans out what
 * it reads: to the on-disk log, to text subscribers (the milestone watcher,
 * the shell of the suites), and to a ring of the last lines for error reports.
 */
import { StringDecoder } from 'node:string_decoder';
import type { EventBus } from '../core/events.js';
import { AnsiStripper } from './ansi.js';
import type { ConsoleSource } from './console.js';
import { ConsoleLog } from './console-log.js';

export type TextListener = (text: string) => void;
export type RawListener = (chunk: Buffer) => void;

const LAST_LINES = 40;

export class ConsoleHub {
  private readonly decoder = new StringDecoder('utf8');
  private readonly stripper = new AnsiStripper();
  private readonly listeners = new Set<TextListener>();
  private readonly rawListeners = new Set<RawListener>();
  private readonly lines: string[] = [];
  private currentLine = '';
  private log: ConsoleLog | undefined;

  constructor(
    readonly source: ConsoleSource,
    private readonly bus: EventBus,
  ) {}

  async open(paths: { raw: string; text: string }): Promise<void> {
    this.log = new ConsoleLog(paths.raw, paths.text, () => this.bus.now());
    await this.source.open({
      data: (chunk) => this.onData(chunk),
      state: (state, detail) => {
        this.log?.note(`console ${state}${detail ? `: ${detail}` : ''}`);
        this.bus.emit({ type: 'console', state, detail });
      },
    });
  }

  subscribe(listener: TextListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The bytes as read, before decoding: for attached terminals (harness/console/console-share.ts). */
  subscribeRaw(listener: RawListener): () => void {
    this.rawListeners.add(listener);
    return () => this.rawListeners.delete(listener);
  }

  write(data: Buffer | string): void {
    this.source.write(data);
  }

  /** Sends a serial break where the source can; says whether it did. */
  async sendBreak(): Promise<boolean> {
    return (await this.source.sendBreak?.()) ?? false;
  }

  /** The last lines read, newest last (the unfinished line too, if any). */
  lastLines(count = 20): string[] {
    const lines = this.currentLine.trim() ? [...this.lines, this.currentLine] : [...this.lines];
    return lines.slice(-count);
  }

  note(message: string): void {
    this.log?.note(message);
  }

  async close(): Promise<void> {
    await this.source.close();
    const rest = this.stripper.flush() + this.decoder.end();
    if (rest) this.deliver(rest);
    this.log?.close();
    this.log = undefined;
  }

  private onData(chunk: Buffer): void {
    this.log?.raw(chunk);
    for (const listener of this.rawListeners) listener(chunk);
    const text = this.stripper.push(this.decoder.write(chunk));
    if (text) this.deliver(text);
  }

  private deliver(text: string): void {
    this.log?.text(text);
    this.remember(text);
    for (const listener of this.listeners) listener(text);
  }

  private remember(text: string): void {
    const parts = (this.currentLine + text).split('\n');
    this.currentLine = parts.pop() ?? '';
    if (this.currentLine.length > 4096) this.currentLine = this.currentLine.slice(-4096);
    for (const line of parts) if (line.trim()) this.lines.push(line);
    if (this.lines.length > LAST_LINES) this.lines.splice(0, this.lines.length - LAST_LINES);
  }
}
