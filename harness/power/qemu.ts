/**
 * Power driver for a QEMU virtual board: `on` starts qemu-system-x86_64 (a PC
 * with SeaBIOS and iPXE, or OVMF) or qemu-system-<arch> for the architecture
 * the target names (the `virt` machine for Arm and RISC-V, with the firmware
 * named by `bios`, such as U-Boot; config/qemu-arch.ts) with its NIC on the
 * job's tap (or on the tap the target names, for a board on a lab network)
 * and its serial port on the harness's console socket, `off` quits it through
 * QMP, `cycle` is off then on, and `status` asks QMP. KVM is used when
 * /dev/kvm can be opened and the board's architecture is the host's, else
 * TCG. Firmware 'bios' is SeaBIOS with the NIC's iPXE ROM; 'uefi' is OVMF
 * with its own PXE client (no iPXE ROM), its code read-only and a fresh copy
 * of its variable store per power-on.
 *
 * Tested against: qemu-system-x86 7.2, ipxe-qemu and ovmf 2022.11 (Debian 12) under TCG and KVM;
 * qemu-system-arm 7.2 with u-boot-qemu 2023.01 (qemu_arm64/u-boot.bin, Debian 12) under TCG.
 * Reference: QEMU System Emulation user docs (invocation, -netdev tap, -chardev,
 * -drive if=pflash, bootindex, Arm 'virt' board), SeaBIOS docs (etc/sercon-port
 * for a BIOS console on the serial port), Debian's ovmf README (OVMF_CODE_4M.fd
 * with OVMF_VARS_4M.fd).
 */
import { access, chmod, constants, copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QemuPowerConfig } from '../config/target.js';
import { Deadline } from '../core/deadline.js';
import { LabFault, UsageError } from '../core/errors.js';
import { startChild, type Child } from '../core/process.js';
import { isHostArch, isPc, qemuArch } from '../config/qemu-arch.js';
import type { PowerDriver, PowerState } from './power.js';
import { cycleByOffOn } from './power-steps.js';
import { QmpClient } from './qmp.js';

/** OVMF from Debian's ovmf package: the 4 MiB build, without Secure Boot. */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

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
    private readonly config: QemuPowerConfig,
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
    const child = startChild('qemu', qemuArch(this.config.arch).program, args, {
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
      // QEMU makes its monitor socket by its umask; the monitor runs commands as QEMU's user: the user's alone.
      await chmod(qmpPath, 0o600);
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

  cycle(): Promise<void> {
    return cycleByOffOn(this, 0);
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
    if (!tap)
      throw new UsageError(
        `QEMU board ${this.wiring.name} has no tap: name one in power.tap for a board on a lab network`,
      );
    const accel = await resolveAccel(this.config.accel, this.config.arch);
    const uefi = this.config.firmware === 'uefi';
    return [
      '-name',
      this.wiring.name,
      ...(await this.machineArguments(accel)),
      '-m',
      String(this.config.memoryMiB),
      '-smp',
      String(this.config.cpus),
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-chardev',
      `socket,id=console,path=${this.wiring.consoleSocket},server=off`,
      '-serial',
      'chardev:console',
      '-qmp',
      `unix:${qmpPath},server=on,wait=off`,
      '-netdev',
      `tap,id=net0,ifname=${tap},script=no,downscript=no`,
      // OVMF boots what bootindex names first, with its own network stack (no iPXE option ROM): a firmware
      // PXE client as a UEFI board has, which needs virtio-net-pci (OVMF's own NIC driver).
      '-device',
      `${this.config.nic},netdev=net0,mac=${this.wiring.mac}${uefi ? ',romfile=,bootindex=1' : ''}`,
      '-pidfile',
      join(this.wiring.workDir, 'qemu.pid'),
      ...this.config.extraArgs,
    ];
  }

  private async machineArguments(accel: 'kvm' | 'tcg'): Promise<string[]> {
    const cpu = this.config.cpu ? ['-cpu', this.config.cpu] : [];
    const bios = this.config.bios ? ['-bios', this.config.bios] : [];
    const machine = this.config.machine ?? qemuArch(this.config.arch).machine;
    if (!isPc(this.config.arch)) {
      // The firmware (U-Boot, say) finds the NIC on the machine's bus and boots as its environment says.
      return ['-machine', `${machine},accel=${accel}`, ...cpu, ...bios];
    }
    const pc = ['-machine', `${machine},accel=${accel}`, ...cpu, ...bios];
    if (this.config.firmware === 'uefi') return [...pc, ...(await this.uefiFirmware())];
    // SeaBIOS reads etc/sercon-port as a little-endian integer: the I/O port of COM1.
    const serconPort = join(this.wiring.workDir, 'sercon-port');
    await writeFile(serconPort, Buffer.from([0xf8, 0x03]));
    return [
      ...pc,
      // SeaBIOS and the iPXE ROM print to the serial port too, so the log shows the network boot.
      '-fw_cfg',
      `name=etc/sercon-port,file=${serconPort}`,
      '-boot',
      'order=n,strict=on,menu=off',
    ];
  }

  private async uefiFirmware(): Promise<string[]> {
    // A fresh variable store each power-on: no boot entries or settings carry over from an earlier boot.
    const vars = join(this.wiring.workDir, 'ovmf-vars.fd');
    try {
      await copyFile(OVMF_VARS, vars);
    } catch (error) {
      throw new LabFault(
        `cannot copy the UEFI variable store ${OVMF_VARS}: ${(error as Error).message}. Fix: install Debian's ovmf package (scripts/setup).`,
        { cause: error },
      );
    }
    return [
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${vars}`,
    ];
  }
}

/**
 * KVM if asked for or, for 'auto', if /dev/kvm can be opened; PXE_HIL_ACCEL
 * overrides. A board of another architecture than the host's is always TCG.
 */
export async function resolveAccel(
  wanted: QemuPowerConfig['accel'],
  arch: QemuPowerConfig['arch'] = 'x86_64',
): Promise<'kvm' | 'tcg'> {
  if (!isHostArch(arch)) return 'tcg';
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
