/** A console source fed by the test itself: for unit tests of pure text logic above ConsoleHub. */
import type { ConsoleSink, ConsoleSource } from '../../harness/console/console.js';

export class FeedConsole implements ConsoleSource {
  readonly endpoint = 'feed:test';
  readonly written: string[] = [];
  private sink: ConsoleSink | undefined;

  async open(sink: ConsoleSink): Promise<void> {
    this.sink = sink;
    sink.state('connected');
  }

  feed(text: string | Buffer): void {
    if (!this.sink) throw new Error('FeedConsole is not open');
    this.sink.data(Buffer.isBuffer(text) ? text : Buffer.from(text));
  }

  write(data: Buffer | string): void {
    this.written.push(data.toString());
  }

  async close(): Promise<void> {
    this.sink = undefined;
  }
}
