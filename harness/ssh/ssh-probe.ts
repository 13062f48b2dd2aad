/**
 * Whether the board's SSH server answers: a connection through the job's
 * SSH forwarder (forwarder.ts) that reads the server's identification line
 * ("SSH-2.0-..."), tried again every second until it comes or the caller
 * stops. No login: this is the "booted" condition `--ready ssh`.
 *
 * Reference: RFC 4253 section 4.2 (protocol version exchange).
 */
import { connect } from 'node:net';
import { Deadline, sleep } from '../core/deadline.js';

/** How long one attempt waits for the identification line. */
const ATTEMPT_MS = 3000;
const RETRY_MS = 1000;

/** Resolves with the server's identification line; rejects only when `signal` aborts. */
export async function waitForSshBanner(socketPath: string, signal: AbortSignal): Promise<string> {
  for (;;) {
    signal.throwIfAborted();
    const banner = await readBanner(socketPath, signal).catch(() => undefined);
    if (banner) return banner;
    await sleep(RETRY_MS, signal);
  }
}

function readBanner(socketPath: string, signal: AbortSignal): Promise<string | undefined> {
  const socket = connect(socketPath);
  let received = '';
  const line = new Promise<string | undefined>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\n');
      if (end !== -1) resolve(received.slice(0, end).replace(/\r$/, ''));
    });
    socket.on('error', () => resolve(undefined));
    socket.on('close', () => resolve(undefined));
  });
  return Deadline.in(ATTEMPT_MS, 'the SSH identification line')
    .race(line, signal)
    .then((text) => (text?.startsWith('SSH-') ? text : undefined))
    .finally(() => socket.destroy());
}
