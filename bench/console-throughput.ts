/**
 * Throughput of the console reader (ConsoleHub: raw and text logs on disk,
 * escape stripping, UTF-8 decoding, the last-lines ring) with a boot watch of
 * 50 active patterns (a console milestone that never matches and 49 failure
 * patterns, checked on every line), against a plain pipe: the same chunks
 * streamed to a file with no decoding or matching.
 *
 * The input is a synthetic boot log (kernel-style lines, some colour escape
 * sequences) of 32 MiB, fed in 4 KiB chunks, as a fast serial console or a
 * QEMU socket delivers them.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConsoleHub } from '../harness/console/console-hub.js';
import type { ConsoleSink, ConsoleSource } from '../harness/console/console.js';
import { MilestoneWatcher } from '../harness/console/milestone-watcher.js';
import type { FailurePattern } from '../harness/core/boot.js';
import { defaultFailurePatterns, ubootFailurePatterns } from '../harness/images/boot-patterns.js';
import { EventBus } from '../harness/core/events.js';

const TOTAL_BYTES = 32 * 1024 * 1024;
const CHUNK_BYTES = 4096;

/** A source the benchmark pushes chunks into, as fast as the reader takes them. */
class PushSource implements ConsoleSource {
  readonly endpoint = 'bench:memory';
  sink: ConsoleSink | undefined;
  async open(sink: ConsoleSink): Promise<void> {
    this.sink = sink;
  }
  write(): void {}
  async close(): Promise<void> {
    this.sink = undefined;
  }
}

function bootLogChunks(): Buffer[] {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < TOTAL_BYTES; i++) {
    const t = (i / 1000).toFixed(6).padStart(12);
    const line =
      i % 10 === 0
        ? `[${t}] \x1b[0;32m  OK  \x1b[0m Started service number ${i} of the boot.\r\n`
        : `[${t}] pci 0000:00:${(i % 32).toString(16).padStart(2, '0')}.0: [8086:${(i % 65536).toString(16).padStart(4, '0')}] type 00 class 0x020000 conventional PCI endpoint\r\n`;
    lines.push(line);
    size += line.length;
  }
  const all = Buffer.from(lines.join(''), 'latin1').subarray(0, TOTAL_BYTES);
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += CHUNK_BYTES) chunks.push(all.subarray(at, at + CHUNK_BYTES));
  return chunks;
}

function fiftyPatterns(): { failures: FailurePattern[] } {
  const failures: FailurePattern[] = [...defaultFailurePatterns, ...ubootFailurePatterns];
  for (let i = 0; failures.length < 49; i++)
    failures.push({ name: `site pattern ${i}`, console: new RegExp(`lab check ${i} failed: [^\\n]*`) });
  return { failures };
}

async function timeReader(chunks: Buffer[], dir: string): Promise<number> {
  const source = new PushSource();
  const hub = new ConsoleHub(source, new EventBus());
  await hub.open({ raw: join(dir, 'console.raw'), text: join(dir, 'console.log') });
  const { failures } = fiftyPatterns();
  const watcher = new MilestoneWatcher([{ name: 'never', console: /this text never comes/, timeoutS: 1 }], failures);
  let results = 0;
  hub.subscribe((text) => {
    results += watcher.feedConsole(text).length;
  });
  const started = performance.now();
  for (const chunk of chunks) source.sink!.data(chunk);
  await hub.close();
  const elapsed = performance.now() - started;
  if (results !== 0) throw new Error(`the benchmark input matched ${results} patterns; it must match none`);
  return elapsed;
}

async function timePipe(chunks: Buffer[], dir: string): Promise<number> {
  const started = performance.now();
  await pipeline(Readable.from(chunks), createWriteStream(join(dir, 'pipe.raw')));
  return performance.now() - started;
}

/** Rounds measured after the warm-up; each figure is their median. */
const CONSOLE_ROUNDS = 5;

export async function measureConsoleThroughput(
  rounds = CONSOLE_ROUNDS,
): Promise<{ mbPerS: number[]; baselineMbPerS: number[] }> {
  const chunks = bootLogChunks();
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  const dir = mkdtempSync(join(tmpdir(), `hil-bench-console-${process.pid}-`));
  try {
    // One warm-up round each (the figure is the reader's speed, not the JIT's), then CONSOLE_ROUNDS
    // rounds, the reader and the pipe taking turns at going first.
    const mb = bytes / 1e6;
    const reader: number[] = [];
    const pipe: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      const readerFirst = round % 2 === 0;
      const first = readerFirst ? await timeReader(chunks, dir) : await timePipe(chunks, dir);
      const second = readerFirst ? await timePipe(chunks, dir) : await timeReader(chunks, dir);
      rmSync(join(dir, 'console.raw'), { force: true });
      rmSync(join(dir, 'console.log'), { force: true });
      rmSync(join(dir, 'pipe.raw'), { force: true });
      if (round === 0) continue;
      reader.push(mb / ((readerFirst ? first : second) / 1000));
      pipe.push(mb / ((readerFirst ? second : first) / 1000));
    }
    return { mbPerS: reader, baselineMbPerS: pipe };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
