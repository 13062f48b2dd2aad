/**
 * A board's serial console on a local port (a USB serial adapter, a
 * motherboard UART), with the npm `serialport` package. The port is held
 * exclusively (flock on the device, serialport's `lock`), so two jobs never
 * read one console; a busy port is an error naming its holder. When the
 * adapter goes away (unplugged, re-enumerating), the console says so and
 * reopens the same path with backoff until it is closed, at once when the
 * device node comes back (so little is lost that a board prints meanwhile).
 *
 * serialport's reader retries a read that returns 0 bytes for ever, but 0
 * bytes from a non-blocking tty is its hang-up (a USB adapter unplugged, a
 * pty whose master closed): the binding here reads itself and reports a
 * hang-up as a disconnection.
 *
 * Tested against: serialport 13 (@serialport/stream, @serialport/bindings-cpp,
 * Linux), socat 1.7.4 pty pairs (Debian 12), standing in for a USB adapter.
 * Reference: serialport API (SerialPortStream, BindingInterface,
 * set({ brk })), termios(3) (VMIN/VTIME, hang-up), read(2), flock(2).
 */
import { read, watch } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { LinuxBindingInterface, LinuxPortBinding } from '@serialport/bindings-cpp';
import { sleep } from '../core/deadline.js';
import { LabFault } from '../core/errors.js';
import { describeHolders, findPortHolders } from './port-holder.js';
import { ReconnectingConsole, type Backoff, type ConsoleLink, type LinkHandlers } from './reconnecting.js';

export type Parity = 'none' | 'even' | 'odd';
export type FlowControl = 'none' | 'rtscts' | 'xonxoff';

export type SerialSettings = {
  path: string;
  baud: number;
  parity: Parity;
  dataBits: 5 | 6 | 7 | 8;
  stopBits: 1 | 1.5 | 2;
  flowControl: FlowControl;
};

/** How long a break holds the line low. */
const BREAK_MS = 250;

export class SerialPortConsole extends ReconnectingConsole {
  constructor(
    readonly settings: SerialSettings,
    backoff?: Backoff,
  ) {
    super(backoff);
  }

  get endpoint(): string {
    return `serial:${this.settings.path}`;
  }

  protected describeLink(): string {
    const s = this.settings;
    return `${s.path} ${s.baud} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}${s.flowControl === 'none' ? '' : ` ${s.flowControl}`}`;
  }

  protected async connect(handlers: LinkHandlers): Promise<ConsoleLink> {
    const s = this.settings;
    // The serialport packages (a native binding) load with the first port opened, not with every run.
    const [{ SerialPortStream }, binding] = await Promise.all([import('@serialport/stream'), hangupAwareBinding()]);
    const port = new SerialPortStream({
      binding,
      path: s.path,
      baudRate: s.baud,
      dataBits: s.dataBits,
      stopBits: s.stopBits,
      parity: s.parity,
      rtscts: s.flowControl === 'rtscts',
      xon: s.flowControl === 'xonxoff',
      xoff: s.flowControl === 'xonxoff',
      lock: true,
      // Dropping DTR on close resets some boards; the console must not touch the board.
      hupcl: false,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve()))).catch(
      async (error: Error) => {
        throw await this.openError(error);
      },
    );

    let closing = false;
    port.on('data', (chunk: Buffer) => handlers.data(chunk));
    port.on('error', () => {
      // A failed read or write ends in 'close' with the reason; nothing more to do here.
    });
    port.on('close', (error?: Error & { disconnected?: boolean }) => {
      if (!closing) handlers.lost(`${s.path} went away${error?.message ? `: ${error.message}` : ''}`);
    });
    return {
      write: (data) => {
        port.write(data);
      },
      sendBreak: async () => {
        const set = (brk: boolean) =>
          new Promise<void>((resolve, reject) =>
            port.set({ brk }, (e) =>
              e
                ? reject(
                    new LabFault(`serial port ${s.path} cannot send a break (${e.message.replace(/^Error:? /, '')})`, {
                      cause: e,
                    }),
                  )
                : resolve(),
            ),
          );
        await set(true);
        await sleep(BREAK_MS);
        await set(false);
      },
      close: async () => {
        closing = true;
        if (!port.isOpen) return;
        await new Promise<void>((resolve) => port.close(() => resolve()));
      },
    };
  }

  /** A USB adapter coming back shows as its device node (re)appearing: watch the nearest directory that exists. */
  protected override watchForReturn(wake: () => void): () => void {
    for (let dir = dirname(this.settings.path); ; dir = dirname(dir)) {
      try {
        const watcher = watch(dir, () => wake());
        watcher.on('error', () => {});
        return () => watcher.close();
      } catch {
        if (dir === '/') return () => {};
      }
    }
  }

  private async openError(error: Error): Promise<LabFault> {
    const path = this.settings.path;
    const message = error.message;
    if (/Cannot lock port/.test(message)) {
      return new LabFault(
        `serial port ${path} is in use by ${describeHolders(await findPortHolders(path))}; one job holds a port at a time (attach with: hil console --target <target>)`,
        { cause: error },
      );
    }
    if (/ENOENT|No such file/.test(message)) {
      return new LabFault(
        `serial port ${path} does not exist: is the adapter plugged in? (see ls -l /dev/serial/by-id/)`,
        { cause: error },
      );
    }
    if (/EACCES|Permission denied/.test(message)) {
      return new LabFault(
        `serial port ${path}: permission denied; run as root or add the user to the device's group (often dialout)`,
        { cause: error },
      );
    }
    return new LabFault(`serial port ${path} could not be opened: ${message}`, { cause: error });
  }
}

const readAsync = promisify(read);

/** Linux's binding, with a read that ends on a hang-up instead of retrying it. */
async function hangupAwareBinding(): Promise<LinuxBindingInterface> {
  const { LinuxBinding } = await import('@serialport/bindings-cpp');
  return {
    list: () => LinuxBinding.list(),
    async open(options) {
      const port = await LinuxBinding.open(options);
      port.read = (buffer, offset, length) => readOrHangup(port, buffer, offset, length);
      return port;
    },
  };
}

async function readOrHangup(
  port: LinuxPortBinding,
  buffer: Buffer,
  offset: number,
  length: number,
): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw Object.assign(new Error('port is closed'), { canceled: true });
    try {
      const { bytesRead } = await readAsync(port.fd, buffer, offset, length, null);
      if (bytesRead === 0) throw Object.assign(new Error('hang-up (the device is gone)'), { disconnect: true });
      return { buffer, bytesRead };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw error;
    }
    await new Promise<void>((resolve, reject) =>
      port.poller.once('readable', (error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}
