/**
 * A TFTP download with the npm `tftp` package's own client, for the windowsize
 * benchmark; run inside the benchmark's client namespace. Prints one JSON line:
 * bytes received, milliseconds from request to last byte, and the block and
 * window sizes the server agreed to.
 *
 *   tftp-window-client.ts HOST FILE WINDOWSIZE BLOCKSIZE
 *
 * Tested against: npm tftp 0.1.2 (client and server).
 * Reference: RFC 7440 (TFTP windowsize option), RFC 2348 (blksize).
 */
import tftp from 'tftp';

const [host, file, windowArg, blockArg] = process.argv.slice(2);
if (!host || !file || !windowArg || !blockArg) {
  process.stderr.write('usage: tftp-window-client.ts HOST FILE WINDOWSIZE BLOCKSIZE\n');
  process.exit(2);
}
const client = tftp.createClient({
  host,
  port: 69,
  windowSize: Number(windowArg),
  blockSize: Number(blockArg),
  retries: 3,
  timeout: 1000,
});
const started = performance.now();
let bytes = 0;
let agreed: { windowSize: number; blockSize: number } | undefined;
const stream = client.createGetStream(file);
stream.on(
  'stats',
  (stats: { windowSize: number; blockSize: number }) =>
    (agreed = { windowSize: stats.windowSize, blockSize: stats.blockSize }),
);
stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
stream.on('error', (error: Error) => {
  process.stderr.write(`tftp get ${file}: ${error.message}\n`);
  process.exit(1);
});
stream.on('end', () => {
  process.stdout.write(`${JSON.stringify({ bytes, ms: performance.now() - started, ...agreed })}\n`);
});
