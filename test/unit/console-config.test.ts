import { describe, expect, it } from 'vitest';
import { validateTarget } from '../../harness/config/load-target.js';
import { createConsole } from '../../harness/console/create-console.js';
import { QemuSocketConsole } from '../../harness/console/qemu-socket.js';
import { SerialPortConsole } from '../../harness/console/serial-port.js';
import { TcpConsole } from '../../harness/console/tcp.js';
import { UsageError } from '../../harness/core/errors.js';

const FILE = 'targets/board-1.ts';

function withConsole(console: Record<string, unknown>) {
  return {
    name: 'board-1',
    image: 'busybox',
    power: { driver: 'qemu' },
    console,
    network: { kind: 'qemu-tap', mac: '52:54:00:ab:00:01' },
  };
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('no error');
}

describe('console settings of a target', () => {
  it("fills in a serial port's defaults", () => {
    const target = validateTarget(
      withConsole({ kind: 'serial', path: '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0' }),
      FILE,
      'board-1',
    );
    expect(target.console).toEqual({
      kind: 'serial',
      path: '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0',
      baud: 115200,
      parity: 'none',
      dataBits: 8,
      stopBits: 1,
      flowControl: 'none',
      kernelConsole: 'ttyS0,115200',
    });
  });

  it("keeps a serial port's settings and a TCP console's", () => {
    const serial = {
      kind: 'serial',
      path: '/dev/ttyUSB3',
      baud: 1500000,
      parity: 'even',
      dataBits: 7,
      stopBits: 2,
      flowControl: 'rtscts',
      kernelConsole: 'ttyS2,1500000n8',
    };
    expect(validateTarget(withConsole(serial), FILE).console).toEqual(serial);
    expect(validateTarget(withConsole({ kind: 'tcp', host: 'console-server-3', port: 7001 }), FILE).console).toEqual({
      kind: 'tcp',
      host: 'console-server-3',
      port: 7001,
      telnet: false,
      kernelConsole: 'ttyS0,115200',
    });
  });

  it('names what is wrong in a console section', () => {
    expect(messageOf(() => validateTarget(withConsole({ kind: 'serial', path: 'ttyUSB0' }), FILE))).toBe(
      "targets/board-1.ts: field 'console.path': expected an absolute device path such as /dev/serial/by-id/usb-FTDI_...-if00-port0",
    );
    expect(
      messageOf(() =>
        validateTarget(withConsole({ kind: 'serial', path: '/dev/ttyUSB0', flowControl: 'hardware' }), FILE),
      ),
    ).toBe(
      `targets/board-1.ts: field 'console.flowControl': expected one of "none", "rtscts", "xonxoff", got "hardware"`,
    );
    expect(messageOf(() => validateTarget(withConsole({ kind: 'tcp', host: 'cs1', port: 70000 }), FILE))).toMatch(
      /^targets\/board-1\.ts: field 'console\.port': .*65535/,
    );
    expect(
      messageOf(() => validateTarget(withConsole({ kind: 'tcp', host: 'cs1', port: 7001, baud: 9600 }), FILE)),
    ).toBe("targets/board-1.ts: field 'console': unknown field(s) 'baud': remove or correct the spelling");
  });

  it('makes the source each kind names', () => {
    const serial = validateTarget(withConsole({ kind: 'serial', path: '/dev/ttyUSB0', baud: 9600 }), FILE).console;
    const made = createConsole(serial, {});
    expect(made).toBeInstanceOf(SerialPortConsole);
    expect(made.endpoint).toBe('serial:/dev/ttyUSB0');
    expect((made as SerialPortConsole).settings).toEqual({
      path: '/dev/ttyUSB0',
      baud: 9600,
      parity: 'none',
      dataBits: 8,
      stopBits: 1,
      flowControl: 'none',
    });

    const tcp = createConsole(
      validateTarget(withConsole({ kind: 'tcp', host: '127.0.0.1', port: 7001, telnet: true }), FILE).console,
      {},
    );
    expect(tcp).toBeInstanceOf(TcpConsole);
    expect(tcp.endpoint).toBe('telnet:127.0.0.1:7001');

    const qemu = validateTarget(withConsole({ kind: 'qemu-socket' }), FILE).console;
    expect(createConsole(qemu, { consoleSocket: '/run/pxe-hil/1/console.sock' }).endpoint).toBe(
      'unix:/run/pxe-hil/1/console.sock',
    );
    expect(createConsole(qemu, { consoleSocket: '/x.sock' })).toBeInstanceOf(QemuSocketConsole);
    expect(() => createConsole(qemu, {})).toThrow(UsageError);
  });
});
