/** A real console server for tests: ser2net 4 in the foreground, one TCP port on 127.0.0.1 for one serial device. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../../harness/core/deadline.js';
import { startChild, type Child } from '../../harness/core/process.js';

export class Ser2net {
  private constructor(readonly child: Child) {}

  /** Starts ser2net serving `device` on 127.0.0.1:`port` (telnet or raw), and waits until it listens. */
  static async start(dir: string, device: string, port: number, telnet: boolean): Promise<Ser2net> {
    const config = join(dir, `ser2net-${port}.yaml`);
    writeFileSync(
      config,
      [
        'connection: &board',
        `  accepter: ${telnet ? 'telnet,' : ''}tcp,127.0.0.1,${port}`,
        `  connector: serialdev,${device},115200n81,local`,
        '  options:',
        '    mdns: false',
        '',
      ].join('\n'),
    );
    const lines: string[] = [];
    // -n: foreground; -u: no UUCP lock files (the pty is the test's own).
    const child = startChild('ser2net', 'ser2net', ['-n', '-u', '-c', config, '-P', join(dir, `ser2net-${port}.pid`)], {
      onStderrLine: (l) => lines.push(l),
      onStdoutLine: (l) => lines.push(l),
    });
    await Deadline.in(10_000, `ser2net to listen on 127.0.0.1:${port}`).poll(async () => {
      if (!child.running) throw new Error(`ser2net exited: ${lines.join(' | ')}`);
      return listening(port) ? true : undefined;
    });
    return new Ser2net(child);
  }

  async stop(): Promise<void> {
    await this.child.stop();
  }
}

/** Whether something listens on 127.0.0.1:port, from /proc/net/tcp (state 0A), without connecting to it. */
function listening(port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1] === local && fields[3] === '0A';
    });
}
