/**
 * Hostile clients for the file server, run inside a test-made namespace;
 * each prints one JSON line with what happened.
 *
 *   tsx test/support/hostile-client.ts tftp HOST PORT HEX     one TFTP packet, the reply decoded
 *   tsx test/support/hostile-client.ts slowloris HOST PORT    HTTP headers one byte a second
 *   tsx test/support/hostile-client.ts stalled HOST PORT PATH GET a file, read nothing for 15 s, then the rest
 *
 * Reference: RFC 1350 (ERROR packet: opcode 5, code, message); RFC 9112 (HTTP/1.1 messages).
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [mode, host = '', portText = '0', arg = ''] = process.argv.slice(2);
const port = Number(portText);
const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
// The client's own cap: if the server never closes, the client says so.
const CLIENT_CAP_MS = 40_000;
const STALL_MS = 15_000;

if (mode === 'tftp') {
  const socket = createSocket('udp4');
  const timer = setTimeout(() => {
    out({ reply: 'none' });
    socket.close();
  }, 3000);
  socket.on('message', (m) => {
    clearTimeout(timer);
    const op = m.length >= 2 ? m.readUInt16BE(0) : -1;
    out(
      op === 5
        ? { op, code: m.readUInt16BE(2), message: m.subarray(4, m.length - 1).toString('latin1') }
        : { op, bytes: m.length },
    );
    socket.close();
  });
  socket.send(Buffer.from(arg, 'hex'), port, host);
} else if (mode === 'slowloris' || mode === 'stalled') {
  const socket = connect(port, host);
  let received = '';
  let sentBytes = 0;
  let drip: NodeJS.Timeout | undefined;
  const cap = setTimeout(() => {
    out({ closedBy: 'client-cap', received: received.slice(0, 80), sentBytes });
    socket.destroy();
  }, CLIENT_CAP_MS);
  socket.on('connect', () => {
    if (mode === 'slowloris') {
      const text = `GET /vmlinuz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(100)}`;
      drip = setInterval(() => {
        if (sentBytes < text.length) socket.write(text[sentBytes++]!);
      }, 500);
    } else {
      socket.write(`GET ${arg} HTTP/1.1\r\nHost: x\r\n\r\n`);
      // Stop reading at once, so the server's writes back up; read again after STALL_MS.
      socket.pause();
      setTimeout(() => {
        let bytes = 0;
        socket.on('data', (chunk) => (bytes += chunk.length));
        const report = () => {
          clearTimeout(cap);
          out({ closedBy: 'server', bytes });
          socket.destroy();
        };
        socket.on('end', report);
        socket.on('error', report);
        socket.resume();
      }, STALL_MS);
    }
  });
  socket.on('data', (chunk) => {
    if (mode === 'slowloris') received += chunk.toString('latin1');
  });
  const closed = () => {
    clearTimeout(cap);
    clearInterval(drip);
    out({ closedBy: 'server', received: received.split('\r\n')[0], sentBytes });
    socket.destroy();
  };
  if (mode === 'slowloris') {
    socket.on('end', closed);
    socket.on('error', closed);
  }
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
