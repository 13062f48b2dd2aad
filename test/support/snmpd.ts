/**
 * A real SNMP agent for tests: net-snmp's snmpd on 127.0.0.1 with a free
 * UDP port and its own config in a temp dir. A `pass` handler script serves
 * the APC PowerNet outlet objects (rPDU control and status, sPDU control) for
 * outlets 1-8 and keeps each outlet's state in a file. Stopped by its pid;
 * the temp dir is removed.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import snmp from 'net-snmp';
import { Deadline } from '../../harness/core/deadline.js';
import { startChild, type Child } from '../../harness/core/process.js';
import { freeUdpPort } from './ipmi-sim.js';
import { endQemuBoard, QEMU_BOARD_FUNCTIONS } from './qemu-board.js';

const APC_HANDLER = `#!/bin/sh
# snmpd pass handler: -g OID | -n OID | -s OID TYPE VALUE
# The outlet named BOARD_OUTLET in board.env (if any) powers a QEMU board instead of a file.
dir=$(dirname "$0")
[ -f "$dir/board.env" ] && . "$dir/board.env"
echo "$*" >> "$dir/calls.log"
${QEMU_BOARD_FUNCTIONS}outlet_of() {
  case $1 in
    .1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.*|.1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.*|.1.3.6.1.4.1.318.1.1.4.4.2.1.3.*) n=\${1##*.} ;;
    *) return 1 ;;
  esac
  case $n in [1-8]) echo "$n" ;; *) return 1 ;; esac
}
case $1 in
  -g)
    n=$(outlet_of "$2") || exit 0
    echo "$2"; echo integer
    if [ "$n" = "$BOARD_OUTLET" ]; then if running; then echo 1; else echo 2; fi
    else cat "$dir/outlet.$n" 2>/dev/null || echo 1; fi ;;
  -n) ;;
  -s)
    case $2 in
      .1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.*) echo not-writable; exit 0 ;;
    esac
    n=$(outlet_of "$2") || { echo not-writable; exit 0; }
    [ "$3" = integer ] || { echo wrong-type; exit 0; }
    case $4 in 1|3) s=1 ;; 2) s=2 ;; *) echo wrong-value; exit 0 ;; esac
    if [ "$n" = "$BOARD_OUTLET" ]; then
      case $4 in 1) running || start_qemu ;; 2) stop_qemu ;; 3) stop_qemu; sleep 1; start_qemu ;; esac
    else
      [ -f "$dir/stuck" ] || echo "$s" > "$dir/outlet.$n"
    fi ;;
esac
`;

export class Snmpd {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: Child,
  ) {}

  /**
   * `community` may read and write; 'public' may only read. `qemuBoard`: outlet
   * `outlet` powers a QEMU board that boots in the job holding `target`.
   */
  static async start(
    community: string,
    qemuBoard?: { target: string; runtimeDir: string; outlet: number },
  ): Promise<Snmpd> {
    const dir = mkdtempSync(join(tmpdir(), 'hil-snmpd-'));
    if (qemuBoard)
      writeFileSync(
        join(dir, 'board.env'),
        `TARGET='${qemuBoard.target}'\nRUNTIME='${qemuBoard.runtimeDir}'\nBOARD_OUTLET='${qemuBoard.outlet}'\n`,
      );
    const port = await freeUdpPort();
    const handler = join(dir, 'apc-outlets.sh');
    writeFileSync(handler, APC_HANDLER);
    chmodSync(handler, 0o755);
    mkdirSync(join(dir, 'conf'));
    mkdirSync(join(dir, 'persist'));
    const conf = join(dir, 'conf', 'snmpd.conf');
    writeFileSync(
      conf,
      [
        `rocommunity public 127.0.0.1`,
        `rwcommunity ${community} 127.0.0.1`,
        `pass .1.3.6.1.4.1.318 ${handler}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const output: string[] = [];
    const child = startChild(
      'snmpd',
      'snmpd',
      ['-C', '-c', conf, '-f', '-Lo', '-M', join(dir, 'conf'), `udp:127.0.0.1:${port}`],
      {
        cwd: dir,
        // snmpd keeps its persistent state (engine boots) here, not in /var/lib/snmp.
        env: { SNMP_PERSISTENT_DIR: join(dir, 'persist') },
        onStdoutLine: (line) => output.push(line),
        onStderrLine: (line) => output.push(line),
      },
    );
    const agent = new Snmpd(dir, port, child);
    try {
      await Deadline.in(10_000, 'snmpd to answer').poll(async () => {
        if (!child.running) throw new Error(`snmpd exited: ${output.slice(-5).join(' | ')}`);
        return (await agent.answers()) ? true : undefined;
      }, 100);
    } catch (error) {
      await agent.stop();
      throw error;
    }
    rmSync(join(dir, 'calls.log'), { force: true });
    return agent;
  }

  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const session = snmp.createSession('127.0.0.1', 'public', {
        port: this.port,
        version: snmp.Version2c,
        timeout: 300,
        retries: 0,
      });
      session.on('error', () => {});
      session.get(['1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.1'], (error) => {
        session.close();
        resolve(!error);
      });
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The outlet's state as the handler keeps it: '1' on, '2' off. */
  outlet(n: number): string {
    const file = join(this.dir, `outlet.${n}`);
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : '1';
  }

  setOutlet(n: number, state: '1' | '2'): void {
    writeFileSync(join(this.dir, `outlet.${n}`), `${state}\n`);
  }

  /** The SETs the handler received since the last clear, e.g. '.1.3.6...4.3 integer 2'. */
  sets(): string[] {
    const file = join(this.dir, 'calls.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('-s '))
      .map((line) => line.slice(3));
  }

  clearCalls(): void {
    rmSync(join(this.dir, 'calls.log'), { force: true });
  }

  /** While set, the outlets accept commands but do not switch. */
  setStuck(stuck: boolean): void {
    const file = join(this.dir, 'stuck');
    if (stuck) writeFileSync(file, '');
    else rmSync(file, { force: true });
  }

  async stop(): Promise<void> {
    await this.child.stop(2000);
    endQemuBoard(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
