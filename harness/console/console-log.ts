/**
 * The console log on disk, written as it comes with synchronous writes, so a
 * crash or a kill loses nothing the harness had read: `console.raw` holds the
 * exact bytes, `console.log` the readable text with a timestamp per line
 * (seconds since the run started).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { StreamRedactor } from '../core/redact.js';

export class ConsoleLog {
  private readonly rawFd: number;
  private readonly textFd: number;
  private atLineStart = true;
  // Registered secrets are masked in both files, even when a chunk boundary cuts one.
  private readonly rawRedactor = new StreamRedactor('latin1');
  private readonly textRedactor = new StreamRedactor('utf8');

  constructor(
    readonly rawPath: string,
    readonly textPath: string,
    private readonly clock: () => number,
  ) {
    this.rawFd = openSync(rawPath, 'a');
    this.textFd = openSync(textPath, 'a');
  }

  raw(chunk: Buffer): void {
    const safe = this.rawRedactor.push(chunk.toString('latin1'));
    if (safe) writeSync(this.rawFd, Buffer.from(safe, 'latin1'));
  }

  /** Appends readable text, stamping each new line with the time it started. */
  text(input: string): void {
    const text = this.textRedactor.push(input);
    if (text.length === 0) return;
    let out = '';
    let start = 0;
    while (start < text.length) {
      if (this.atLineStart) out += stamp(this.clock());
      const newline = text.indexOf('\n', start);
      if (newline === -1) {
        out += text.slice(start);
        this.atLineStart = false;
        break;
      }
      out += text.slice(start, newline + 1);
      this.atLineStart = true;
      start = newline + 1;
    }
    writeSync(this.textFd, out);
  }

  /** A line of the harness's own, marked so it is not mistaken for target output. */
  note(message: string): void {
    this.text(`${this.atLineStart ? '' : '\n'}--- pxe-hil: ${message} ---\n`);
  }

  close(): void {
    const raw = this.rawRedactor.flush();
    if (raw) writeSync(this.rawFd, Buffer.from(raw, 'latin1'));
    const text = this.textRedactor.flush();
    if (text) writeSync(this.textFd, text);
    closeSync(this.rawFd);
    closeSync(this.textFd);
  }
}

function stamp(ms: number): string {
  return `[${(ms / 1000).toFixed(3).padStart(9)}] `;
}
