/**
 * A real BMC for tests: OpenIPMI's ipmi_sim on 127.0.0.1 with a free UDP
 * port, configured from a temp dir. Its chassis control program is a small
 * shell script that keeps the board's power state and boot device in files
 * and logs every call, so a test can see what the BMC was asked to do.
 * Stopped by its pid; the temp dir is removed.
 */
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from '../../harness/core/deadline.js';
import { startChild, type Child } from '../../harness/core/process.js';
import { runBounded } from '../../harness/core/process.js';
import { endQemuBoard, QEMU_BOARD_FUNCTIONS } from './qemu-board.js';

// With board.env (TARGET, RUNTIME) beside it, the power line is a QEMU board: 'set power 1' starts
// it in the job that holds TARGET, 'set power 0' stops it, 'get power' says whether it runs.
const CHASSIS_SCRIPT = `#!/bin/sh
# ipmi_sim chassis control: <device> get <parm>... | <device> set <parm> <value>...
dir=$(dirname "$0")
[ -f "$dir/board.env" ] && . "$dir/board.env"
device=$1; op=$2; shift 2
echo "$op $*" >> "$dir/calls.log"
[ -f "$dir/slow" ] && sleep 1
${QEMU_BOARD_FUNCTIONS}case $op in
get)
  while [ $# -gt 0 ]; do
    case $1 in
      power)
        if [ -z "$TARGET" ]; then echo "power:$(cat "$dir/power" 2>/dev/null || echo 0)"
        elif running; then echo power:1; else echo power:0; fi ;;
      boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo default)" ;;
      *) echo "Invalid parameter: $1"; exit 1 ;;
    esac
    shift
  done ;;
set)
  while [ $# -gt 1 ]; do
    case $1 in
      power)
        if [ -z "$TARGET" ]; then [ -f "$dir/stuck" ] || echo "$2" > "$dir/power"
        elif [ "$2" = 1 ]; then running || start_qemu
        else stop_qemu; fi ;;
      boot) echo "$2" > "$dir/boot" ;;
      reset) ;;
      *) echo "Invalid parameter: $1"; exit 1 ;;
    esac
    shift 2
  done ;;
*) echo "Unknown operation: $op"; exit 1 ;;
esac
`;

export class IpmiSim {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly username: string,
    readonly password: string,
    private readonly child: Child,
  ) {}

  /**
   * `qemuBoard`: the BMC switches a QEMU board that boots in the job holding `target`
   * (jobs found under `runtimeDir`), instead of a power line kept in a file; its serial port connects
   * to `consoleSocket` when given, else to the job's console socket.
   * `sol`: the BMC's Serial-over-LAN device (a tty path, or 'tcp:host:port'), see ipmi_lan(5).
   */
  static async start(
    username: string,
    password: string,
    qemuBoard?: { target: string; runtimeDir: string; consoleSocket?: string },
    options: { sol?: string } = {},
  ): Promise<IpmiSim> {
    const dir = mkdtempSync(join(tmpdir(), 'hil-ipmi-sim-'));
    const port = await freeUdpPort();
    mkdirSync(join(dir, 'state'));
    const script = join(dir, 'chassis-control.sh');
    writeFileSync(script, CHASSIS_SCRIPT);
    if (qemuBoard)
      writeFileSync(
        join(dir, 'board.env'),
        `TARGET='${qemuBoard.target}'\nRUNTIME='${qemuBoard.runtimeDir}'\n${qemuBoard.consoleSocket ? `CONSOLE_SOCKET='${qemuBoard.consoleSocket}'\n` : ''}`,
      );
    chmodSync(script, 0o755);
    const lanConf = join(dir, 'lan.conf');
    writeFileSync(
      lanConf,
      [
        'name "hil-test-bmc"',
        'set_working_mc 0x20',
        '  startlan 1',
        `    addr 127.0.0.1 ${port}`,
        '    priv_limit admin',
        '    allowed_auths_callback none md2 md5 straight',
        '    allowed_auths_user none md2 md5 straight',
        '    allowed_auths_operator none md2 md5 straight',
        '    allowed_auths_admin none md2 md5 straight',
        '    guid a1b2c3d4e5f60718293a4b5c6d7e8f90',
        '  endlan',
        `  chassis_control "${script} 0x20"`,
        ...(options.sol ? [`  sol "${options.sol}" 115200`] : []),
        `  user 2 true "${username}" "${password}" admin 10 none md2 md5 straight`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const emu = join(dir, 'bmc.emu');
    writeFileSync(
      emu,
      [
        'mc_setbmc 0x20',
        'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr',
        'mc_enable 0x20',
        '',
      ].join('\n'),
    );
    const stderr: string[] = [];
    const child = startChild('ipmi_sim', 'ipmi_sim', ['-c', lanConf, '-f', emu, '-s', join(dir, 'state'), '-n'], {
      cwd: dir,
      onStderrLine: (line) => stderr.push(line),
      onStdoutLine: (line) => stderr.push(line),
    });
    const sim = new IpmiSim(dir, port, username, password, child);
    try {
      await Deadline.in(10_000, 'ipmi_sim to answer').poll(async () => {
        if (!child.running) throw new Error(`ipmi_sim exited: ${stderr.join(' | ')}`);
        const outcome = await runBounded(
          'ipmitool',
          [
            '-I',
            'lanplus',
            '-H',
            '127.0.0.1',
            '-p',
            String(port),
            '-U',
            username,
            '-E',
            '-C',
            '3',
            '-N',
            '1',
            '-R',
            '0',
            'chassis',
            'power',
            'status',
          ],
          { deadline: Deadline.in(3000, 'ipmitool'), env: { IPMI_PASSWORD: password } },
        );
        return outcome.exitCode === 0 ? true : undefined;
      }, 100);
    } catch (error) {
      await sim.stop();
      throw error;
    }
    sim.clearCalls();
    return sim;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** The chassis control calls since the last clear, e.g. 'set power 1'. */
  calls(): string[] {
    const file = join(this.dir, 'calls.log');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
  }

  /** The calls that change something (set), without the status reads. */
  sets(): string[] {
    return this.calls().filter((call) => call.startsWith('set '));
  }

  clearCalls(): void {
    rmSync(join(this.dir, 'calls.log'), { force: true });
  }

  /** The power line as the chassis script keeps it: '1' on, '0' off. */
  powerLine(): string {
    const file = join(this.dir, 'power');
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : '0';
  }

  bootDevice(): string | undefined {
    const file = join(this.dir, 'boot');
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  }

  /** While set, every chassis control call takes a second. */
  setSlow(slow: boolean): void {
    flag(join(this.dir, 'slow'), slow);
  }

  /** While set, the power line ignores every command. */
  setStuck(stuck: boolean): void {
    flag(join(this.dir, 'stuck'), stuck);
  }

  async stop(): Promise<void> {
    await this.child.stop(2000);
    endQemuBoard(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function flag(path: string, on: boolean): void {
  if (on) writeFileSync(path, '');
  else rmSync(path, { force: true });
}

/** A UDP port on 127.0.0.1 that nothing listens on right now. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}
