/**
 * Power driver for a QEMU virtual board: `on` starts qemu-system-x86_64 with
 * its NIC on the job's tap (or on the tap the target names, for a board on a
 * lab network) and its serial port on the harness's console
 * socket, `off` quits it through QMP, `cycle` is off then on, and `status`
 * asks QMP. KVM is used when /dev/kvm can be opened, else TCG.
 *
 * Tested against: qemu-system-x86 7.2 and ipxe-qemu (Debian 12) under TCG and KVM.
 * Reference: QEMU System Emulation user docs (invocation, -netdev tap, -chardev),
 * SeaBIOS docs (etc/sercon-port for a BIOS console on the serial port).
 */
import { access, constants, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Deadline } from '../core/deadline.js';
import { LabFault, UsageError } from '../core/errors.js';
import { startChild, type Child } from '../core/process.js';
import type { PowerDriver, PowerState } from './power.js';
import { QmpClient } from './qmp.js';

export type QemuBoardConfig = {
  driver: 'qemu';
  memoryMiB: number;
  cpus: number;
  nic: 'virtio-net-pci' | 'e1000';
  accel: 'auto' | 'kvm' | 'tcg';
  extraArgs: string[];
  tap?: { name: string; netns?: string };
};

export type QemuBoardWiring = {
  name: string;
  workDir: string;
  consoleSocket: string;
  netns: string;
  /** The job's tap; none on a lab network, where the target names its tap. */
  tap: string | undefined;
  mac: string;
};

export class QemuPower implements PowerDriver {
  private child: Child | undefined;
  private qmp: QmpClient | undefined;
  private readonly stderrTail: string[] = [];
  private readonly lostListeners = new Set<(reason: string) => void>();
  /** QEMU processes being powered off on purpose. */
  private readonly stopping = new WeakSet<Child>();

  constructor(
    private readonly config: QemuBoardConfig,
    private readonly wiring: QemuBoardWiring,
  ) {}

  get description(): string {
    return `qemu (${this.wiring.name})`;
  }

  get pid(): number | undefined {
    return this.child?.running ? this.child.pid : undefined;
  }

  async on(): Promise<void> {
    if (this.child?.running) return;
    const qmpPath = join(this.wiring.workDir, 'qmp.sock');
    await rm(qmpPath, { force: true });
    const args = await this.arguments(qmpPath);
    this.stderrTail.length = 0;
    const child = startChild('qemu', 'qemu-system-x86_64', args, {
      netns: this.config.tap ? this.config.tap.netns : this.wiring.netns,
      onStderrLine: (line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > 10) this.stderrTail.shift();
      },
    });
    this.child = child;
    void child.exited.then((exit) => {
      // QEMU that ends while it is still the board and nobody asked for off: the board is lost.
      if (this.child !== child || this.stopping.has(child)) return;
      const reason = `QEMU exited on its own (${exit.signal ?? `code ${exit.exitCode}`})${this.stderrTail.length ? `: ${this.stderrTail.join(' | ')}` : ''}`;
      for (const listener of this.lostListeners) listener(reason);
    });
    try {
      this.qmp = await QmpClient.connect(qmpPath, Deadline.in(15_000, 'the QEMU monitor socket'));
    } catch (error) {
      this.stopping.add(child);
      await child.stop(1000);
      throw new LabFault(`QEMU did not start: ${this.stderrTail.join(' | ') || String(error)}`, { cause: error });
    }
  }

  async off(): Promise<void> {
    const child = this.child;
    if (!child?.running) return;
    this.stopping.add(child);
    try {
      await this.qmp?.execute('quit');
    } catch {
      // the connection closes as QEMU quits
    }
    this.qmp?.close();
    this.qmp = undefined;
    try {
      await Deadline.in(5000, 'QEMU to quit').race(child.exited);
    } catch {
      await child.stop(2000);
    }
  }

  onLost(listener: (reason: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async cycle(): Promise<void> {
    await this.off();
    await this.on();
  }

  async status(): Promise<PowerState> {
    if (!this.child?.running || !this.qmp) return 'off';
    try {
      const status = await this.qmp.execute<{ running: boolean; status: string }>('query-status');
      return status.status === 'shutdown' ? 'off' : 'on';
    } catch {
      return 'off';
    }
  }

  private async arguments(qmpPath: string): Promise<string[]> {
    const tap = this.config.tap?.name ?? this.wiring.tap;
    if (!tap) throw new UsageError(`QEMU board ${this.wiring.name} has no tap: name one in power.tap for a board on a lab network`);
    const accel = await resolveAccel(this.config.accel);
    // SeaBIOS reads etc/sercon-port as a little-endian integer: the I/O port of COM1.
    const serconPort = join(this.wiring.workDir, 'sercon-port');
    await writeFile(serconPort, Buffer.from([0xf8, 0x03]));
    return [
      '-name', this.wiring.name,
      '-machine', `pc,accel=${accel}`,
      '-m', String(this.config.memoryMiB),
      '-smp', String(this.config.cpus),
      '-nodefaults', '-no-user-config', '-display', 'none',
      // SeaBIOS and the iPXE ROM print to the serial port too, so the log shows the network boot.
      '-fw_cfg', `name=etc/sercon-port,file=${serconPort}`,
      '-chardev', `socket,id=console,path=${this.wiring.consoleSocket},server=off`,
      '-serial', 'chardev:console',
      '-qmp', `unix:${qmpPath},server=on,wait=off`,
      '-netdev', `tap,id=net0,ifname=${tap},script=no,downscript=no`,
      '-device', `${this.config.nic},netdev=net0,mac=${this.wiring.mac}`,
      '-boot', 'order=n,strict=on,menu=off',
      '-pidfile', join(this.wiring.workDir, 'qemu.pid'),
      ...this.config.extraArgs,
    ];
  }
}

/** KVM if asked for or, for 'auto', if /dev/kvm can be opened; PXE_HIL_ACCEL overrides. */
export async function resolveAccel(wanted: QemuBoardConfig['accel']): Promise<'kvm' | 'tcg'> {
  const override = process.env.PXE_HIL_ACCEL;
  const choice = override === 'kvm' || override === 'tcg' ? override : wanted;
  if (choice !== 'auto') return choice;
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
    return 'kvm';
  } catch {
    return 'tcg';
  }
}
