/**
 * A board's serial console behind a console server (ser2net, a terminal
 * server), over TCP: raw bytes, or telnet when the port speaks it (the IAC
 * sequences are taken out and answered minimally, see telnet.ts). When the
 * connection drops (the console server restarts, the network blips), the
 * console says so and reconnects with backoff until it is closed.
 *
 * Tested against: ser2net 4.3 (Debian 12), `tcp` and `telnet` accepters on
 * 127.0.0.1 with a socat pty as the serial device.
 * Reference: node:net, RFC 854 (telnet), ser2net.yaml(5).
 */
import { connect, type Socket } from 'node:net';
import { Deadline, TimeoutError } from '../core/deadline.js';
import { LabFault } from '../core/errors.js';
import { ReconnectingConsole, type Backoff, type ConsoleLink, type LinkHandlers } from './reconnecting.js';
import { TELNET_BREAK, TelnetCodec } from './telnet.js';

export type TcpSettings = { host: string; port: number; telnet: boolean };

/** How long one connection attempt may take before the server counts as not answering. */
const CONNECT_TIMEOUT_MS = 10_000;
/** TCP keep-alive, so a console server that vanished without a word is noticed. */
const KEEPALIVE_MS = 10_000;

export class TcpConsole extends ReconnectingConsole {
  constructor(
    readonly settings: TcpSettings,
    backoff?: Backoff,
  ) {
    super(backoff);
  }

  get endpoint(): string {
    return `${this.settings.telnet ? 'telnet' : 'tcp'}:${this.settings.host}:${this.settings.port}`;
  }

  protected describeLink(): string {
    return `${this.settings.host}:${this.settings.port}${this.settings.telnet ? ' (telnet)' : ''}`;
  }

  protected async connect(handlers: LinkHandlers): Promise<ConsoleLink> {
    const { host, port, telnet } = this.settings;
    let pending: Socket | undefined;
    const connected = new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      pending = s;
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (error) => {
        s.destroy();
        reject(
          new LabFault(
            `console server ${host}:${port} refused or did not answer (${(error as NodeJS.ErrnoException).code ?? error.message}); is it running and is the port right?`,
            { cause: error },
          ),
        );
      });
    });
    const socket = await Deadline.in(CONNECT_TIMEOUT_MS, `a TCP connection to console server ${host}:${port}`)
      .race(connected)
      .catch((error: unknown) => {
        pending?.destroy();
        throw error instanceof TimeoutError
          ? new LabFault(
              `console server ${host}:${port} did not answer: ${error.message}; is the host up and the port right?`,
              { cause: error },
            )
          : error;
      });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    const codec = telnet ? new TelnetCodec((answer) => socket.write(answer)) : undefined;
    let closing = false;
    let lostReason = 'the console server closed the connection';
    socket.on('data', (chunk: Buffer) => {
      const data = codec ? codec.decode(chunk) : chunk;
      if (data.length > 0) handlers.data(data);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      lostReason = `connection to ${host}:${port} failed: ${error.code ?? error.message}`;
    });
    socket.on('close', () => {
      if (!closing) handlers.lost(lostReason);
    });
    return {
      write: (data) => {
        socket.write(codec ? codec.encode(data) : data);
      },
      ...(telnet ? { sendBreak: async () => void socket.write(TELNET_BREAK) } : {}),
      close: async () => {
        closing = true;
        if (socket.destroyed) return;
        await new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.destroy();
        });
      },
    };
  }
}
