/**
 * The contract every power driver keeps, run against each driver with its
 * real peer: QEMU (qemu-system-x86_64 on a tap in a namespace of this test),
 * IPMI (ipmi_sim through ipmitool), SNMP PDU (snmpd), pdudaemon, and shell
 * commands that keep the power in a file. `on` ends on and `off` ends off, a
 * cycle goes off then on and ends on, each as the peer saw it and, where the
 * driver can, as it reads the power back; a driver without `status` says so
 * as it declares; a backend that fails is a lab fault naming the driver.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QemuPowerConfig } from '../../harness/config/target.js';
import { Deadline } from '../../harness/core/deadline.js';
import { LabFault, UsageError } from '../../harness/core/errors.js';
import type { Child } from '../../harness/core/process.js';
import { CommandPower } from '../../harness/power/command.js';
import { IpmiPower } from '../../harness/power/ipmi.js';
import { PdudaemonPower } from '../../harness/power/pdudaemon.js';
import { type PowerDriver, type PowerState, readPowerState } from '../../harness/power/power.js';
import { QemuPower } from '../../harness/power/qemu.js';
import { SnmpPduPower } from '../../harness/power/snmp-pdu.js';
import { freeUdpPort, IpmiSim } from '../support/ipmi-sim.js';
import { startPdudaemon } from '../support/pdudaemon.js';
import { freeTcpPort } from '../support/ports.js';
import { Snmpd } from '../support/snmpd.js';

/** What the peer (the BMC, the PDU, QEMU's process, the state file) has done. */
type Peer = {
  /** The power as the peer has it. */
  state(): PowerState;
  /** Every switch the peer carried out so far, in order ('on', 'off'; anything else as it came). */
  switches(): string[];
};

type Subject = {
  driver: PowerDriver;
  peer: Peer;
  /** A driver of the same kind whose backend fails. */
  failing: PowerDriver;
  stop(): Promise<void>;
};

type Row = {
  name: string;
  description: string | RegExp;
  /** Whether the driver reads the power back (has `status`). */
  reads: boolean;
  /** The lab fault of the failing backend's `on`. */
  fault: RegExp;
  start(): Promise<Subject>;
};

const tempDir = (what: string) => mkdtempSync(join(tmpdir(), `hil-contract-${what}-`));
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

const qemu: Row = {
  name: 'qemu',
  description: 'qemu (contract-board)',
  reads: true,
  fault: /^QEMU did not start: qemu-system-x86_64: -no-such-option: invalid option/,
  async start() {
    const dir = tempDir('qemu');
    const netns = `pcontract-${process.pid}`;
    await execa('ip', ['netns', 'add', netns]);
    await execa('ip', ['-n', netns, '-batch', '-'], { input: 'tuntap add dev tap0 mode tap\nlink set tap0 up\n' });
    const consoleSocket = join(dir, 'console.sock');
    // The board's serial port connects here; what it prints is not this test's business.
    const consoleServer: Server = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => consoleServer.listen(consoleSocket, resolve));
    const config: QemuPowerConfig = {
      driver: 'qemu',
      memoryMiB: 256,
      cpus: 1,
      nic: 'virtio-net-pci',
      accel: 'tcg',
      firmware: 'bios',
      extraArgs: [],
    };
    const wiring = {
      name: 'contract-board',
      workDir: dir,
      consoleSocket,
      netns,
      tap: 'tap0',
      mac: '52:54:00:c0:00:01',
    };
    const failDir = tempDir('qemu-fail');
    // QEMU's own pid file, and /proc: the process, not what the driver believes.
    const qemuPid = () => {
      const pid = Number(lines(join(dir, 'qemu.pid'))[0]);
      const stat = pid > 0 && existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
      return stat.includes('(qemu-system-') && !/\) Z /.test(stat) ? pid : undefined;
    };
    const seen: string[] = [];
    let lastPid: number | undefined;
    const driver = new QemuPower(config, wiring);
    return {
      driver,
      failing: new QemuPower({ ...config, extraArgs: ['-no-such-option'] }, { ...wiring, workDir: failDir }),
      peer: {
        state: () => (qemuPid() ? 'on' : 'off'),
        switches() {
          const pid = qemuPid();
          if (lastPid !== undefined && pid !== lastPid) seen.push('off');
          if (pid !== undefined && pid !== lastPid) seen.push('on');
          lastPid = pid;
          return [...seen];
        },
      },
      async stop() {
        await driver.off();
        const left = qemuPid();
        if (left) process.kill(left, 'SIGKILL');
        expect(left).toBeUndefined();
        await new Promise<void>((resolve) => consoleServer.close(() => resolve()));
        await execa('ip', ['netns', 'del', netns]);
        for (const d of [dir, failDir]) rmSync(d, { recursive: true, force: true });
      },
    };
  },
};

const ipmi: Row = {
  name: 'ipmi',
  description: /^ipmi 127\.0\.0\.1:\d+$/,
  reads: true,
  fault: /^IPMI BMC 127\.0\.0\.1 did not answer 'chassis power on' after 1 attempts: /,
  async start() {
    const password = `pw-${randomBytes(5).toString('hex')}`;
    const sim = await IpmiSim.start('contract', password);
    const config = {
      driver: 'ipmi' as const,
      host: '127.0.0.1',
      port: sim.port,
      username: sim.username,
      passwordEnv: 'HIL_CONTRACT_BMC_PASSWORD',
      cipherSuites: [3],
      bootdev: { persistent: false, efi: false },
      requestTimeoutS: 1,
      requestRetries: 1,
      attempts: 3,
      retryBackoffMs: 100,
      confirmTimeoutS: 10,
      offTimeS: 0,
    };
    const options = { env: { HIL_CONTRACT_BMC_PASSWORD: password }, pollIntervalMs: 100 };
    const sets: Record<string, string> = { 'set power 1': 'on', 'set power 0': 'off' };
    return {
      driver: new IpmiPower(config, options),
      failing: new IpmiPower({ ...config, port: await freeUdpPort(), attempts: 1 }, options),
      peer: {
        state: () => (sim.powerLine() === '1' ? 'on' : 'off'),
        switches: () => sim.sets().map((set) => sets[set] ?? set),
      },
      stop: () => sim.stop(),
    };
  },
};

const snmpPdu: Row = {
  name: 'snmp-pdu',
  description: 'snmp-pdu 127.0.0.1 outlet 3',
  reads: true,
  fault: /^PDU 127\.0\.0\.1 did not answer SNMP set for outlet 3: /,
  async start() {
    const community = `rw-${randomBytes(6).toString('hex')}`;
    const agent = await Snmpd.start(community);
    const config = {
      driver: 'snmp-pdu' as const,
      host: '127.0.0.1',
      port: agent.port,
      profile: 'apc-rpdu' as const,
      outlet: 3,
      auth: { version: '2c' as const, communityEnv: 'HIL_CONTRACT_PDU_COMMUNITY' },
      requestTimeoutS: 1,
      retries: 1,
      confirmTimeoutS: 5,
      offTimeS: 0,
    };
    const options = { env: { HIL_CONTRACT_PDU_COMMUNITY: community }, pollIntervalMs: 100 };
    // APC rPDUOutletControlOutletCommand of outlet 3: 1 immediateOn, 2 immediateOff.
    const control = '.1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.3 integer';
    const sets: Record<string, string> = { [`${control} 1`]: 'on', [`${control} 2`]: 'off' };
    return {
      driver: new SnmpPduPower(config, options),
      failing: new SnmpPduPower({ ...config, port: await freeUdpPort(), retries: 0 }, options),
      peer: {
        state: () => (agent.outlet(3) === '1' ? 'on' : 'off'),
        switches: () => agent.sets().map((set) => sets[set] ?? set),
      },
      stop: () => agent.stop(),
    };
  },
};

const pdudaemon: Row = {
  name: 'pdudaemon',
  description: 'pdudaemon hil-contract-pdu outlet 3',
  reads: false,
  fault: /^pdudaemon at http:\/\/127\.0\.0\.1:\d+ did not answer 'on' for hil-contract-pdu outlet 3: /,
  async start() {
    const dir = tempDir('pdudaemon');
    const actions = join(dir, 'actions');
    let daemon: Child;
    let port: number;
    try {
      ({ child: daemon, port } = await startPdudaemon(dir, 'hil-contract-pdu', actions));
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const config = {
      driver: 'pdudaemon' as const,
      url: `http://127.0.0.1:${port}`,
      pdu: 'hil-contract-pdu',
      outlet: 3,
      offTimeS: 1,
      requestTimeoutS: 5,
    };
    // pdudaemon's localcmdline driver writes 'on 3' or 'off 3' for each outlet action, from its queue.
    const switches = () => lines(actions).map((line) => line.replace(/ 3$/, ''));
    return {
      driver: new PdudaemonPower(config),
      failing: new PdudaemonPower({ ...config, url: `http://127.0.0.1:${await freeTcpPort()}` }),
      peer: { state: () => (switches().at(-1) === 'on' ? 'on' : 'off'), switches },
      async stop() {
        await daemon.stop(2000);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

function commandRow(name: string, withStatus: boolean): Row {
  return {
    name,
    description: 'command',
    reads: withStatus,
    fault: /^power on command failed \(exit 4\): relay board not found$/,
    async start() {
      const dir = tempDir('command');
      const config = {
        driver: 'command' as const,
        on: 'echo on > state; echo "$HIL_POWER_ACTION" >> switches',
        off: 'echo off > state; echo "$HIL_POWER_ACTION" >> switches',
        ...(withStatus ? { status: 'cat state' } : {}),
        secretEnv: [],
        timeoutS: 5,
        offTimeS: 0,
      };
      return {
        driver: new CommandPower(config, { cwd: dir }),
        failing: new CommandPower({ ...config, on: 'echo "relay board not found" >&2; exit 4' }, { cwd: dir }),
        peer: {
          state: () => (lines(join(dir, 'state'))[0] === 'on' ? 'on' : 'off'),
          switches: () => lines(join(dir, 'switches')),
        },
        stop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
}

const rows: Row[] = [
  qemu,
  ipmi,
  snmpPdu,
  pdudaemon,
  commandRow('command', true),
  commandRow('command without a status command', false),
];

describe.each(rows)('power driver contract: $name', (row) => {
  let subject: Subject;
  beforeAll(async () => {
    subject = await row.start();
  });
  afterAll(async () => {
    await subject?.stop();
  });

  /** Runs `act`, then checks that the peer carried out `switched` (a PDU's daemon may take a moment) and ends `ends`. */
  async function step(act: () => Promise<void>, switched: PowerState[], ends: PowerState): Promise<void> {
    const { driver, peer } = subject;
    const before = peer.switches().length;
    await act();
    const done = await Deadline.in(20_000, `the ${row.name} peer to switch ${switched.join(', then ')}`).poll(() => {
      const all = peer.switches();
      return all.length >= before + switched.length ? all.slice(before) : undefined;
    }, 100);
    expect(done).toEqual(switched);
    expect(peer.state()).toBe(ends);
    if (driver.status) expect(await driver.status()).toBe(ends);
  }

  it('names what it switches', () => {
    expect(subject.driver.description).toMatch(row.description);
  });

  it('on: the board is on', async () => {
    await step(() => subject.driver.on(), ['on'], 'on');
  });

  it('off: the board is off', async () => {
    await step(() => subject.driver.off(), ['off'], 'off');
  });

  it('cycle: off, then on, and the board ends on', async () => {
    await step(() => subject.driver.on(), ['on'], 'on');
    await step(() => subject.driver.cycle(), ['off', 'on'], 'on');
  });

  it(`status: ${row.reads ? 'reads the power back' : 'absent, and says why'}`, async () => {
    const { driver } = subject;
    expect(driver.status !== undefined).toBe(row.reads);
    if (row.reads) {
      expect(driver.withoutStatus).toBeUndefined();
      return;
    }
    expect(driver.withoutStatus).toMatch(/\S/);
    const refused = await readPowerState(driver).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as Error).message).toBe(
      `power driver '${driver.description}' cannot report the power state: ${driver.withoutStatus}`,
    );
  });

  it('a failing backend is a lab fault naming the driver', async () => {
    const fault = await subject.failing.on().catch((error: unknown) => error);
    expect(fault).toBeInstanceOf(LabFault);
    expect((fault as LabFault).exitCode).toBe(3);
    expect((fault as LabFault).message).toMatch(row.fault);
  });
});
