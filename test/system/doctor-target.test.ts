/**
 * `hil doctor --target` as a user runs it, against real lab parts: a BMC
 * (ipmi_sim, with SOL on a socat pty) that answers, one that does not, a
 * missing password, and a serial console on a socat pty or on a device that
 * is not there. The doctor never powers anything: the BMC's chassis control
 * is only read, and power commands are never run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { execa } from 'execa';
import { hil, writeTargetFile } from '../support/hil.js';
import { freeUdpPort, IpmiSim } from '../support/ipmi-sim.js';
import { PtyPair } from '../support/pty.js';
import { Snmpd } from '../support/snmpd.js';
import { startPdudaemon } from '../support/pdudaemon.js';
import { freeTcpPort } from '../support/ports.js';
import { suiteScope } from '../support/scope.js';

const PASSWORD_ENV = 'DOCTOR_TEST_BMC_PASSWORD';
const PASSWORD = `doctor-${process.pid}-pw`;
const files = suiteScope();
let dir: string;
let targetsDir: string;
let pair: PtyPair;
let sim: IpmiSim;
let downPort: number;

const target = (name: string, power: unknown, console: unknown) => ({
  name,
  image: 'busybox',
  power,
  console,
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:41' },
});
const bmcPower = (port: number) => ({
  driver: 'ipmi',
  host: '127.0.0.1',
  port,
  username: 'docadmin',
  passwordEnv: PASSWORD_ENV,
  cipherSuites: [3],
  requestTimeoutS: 1,
  requestRetries: 1,
});

beforeAll(async () => {
  dir = files.tempDir('hil-doctor-');
  targetsDir = join(dir, 'targets');
  pair = await files.start(PtyPair.start(dir));
  sim = await files.start(IpmiSim.start('docadmin', PASSWORD, undefined, { sol: pair.a }));
  downPort = await freeUdpPort();
  const write = (value: { name: string }) => writeTargetFile(targetsDir, value);
  mkdirSync(targetsDir);
  write(target('bmc-board', bmcPower(sim.port), { kind: 'ipmi-sol' }));
  write(target('dead-bmc-board', bmcPower(downPort), { kind: 'ipmi-sol' }));
  // Power commands that leave a mark if they ever run; only the status command may.
  const commands = {
    driver: 'command',
    on: `touch ${join(dir, 'powered-on')}`,
    off: `touch ${join(dir, 'powered-off')}`,
    status: 'echo off',
  };
  write(target('serial-board', commands, { kind: 'serial', path: pair.b }));
  write(target('unplugged-board', commands, { kind: 'serial', path: join(dir, 'ttyUSB-gone') }));
}, 60_000);

const doctor = (name: string, env: Record<string, string> = {}) =>
  hil(['doctor', '--target', name, '--targets-dir', targetsDir], { env });

describe('hil doctor --target', { timeout: 120_000 }, () => {
  it.each([
    ['qemu-x86', 'qemu-system-x86_64 with bios-256k.bin and efi-virtio.rom'],
    ['qemu-x86-uefi', 'qemu-system-x86_64 with /usr/share/OVMF/OVMF_CODE_4M.fd'],
    ['qemu-arm64-uboot', 'qemu-system-aarch64 with /usr/lib/u-boot/qemu_arm64/u-boot.bin'],
  ])('finds the program and firmware of the shipped QEMU board %s', async (name, found) => {
    const run = await hil(['doctor', '--target', name]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.split('\n')[1]).toBe(`ok   power (qemu)         ${found}`);
  });

  it('finds a BMC and its SOL answering, and only reads from it', async () => {
    sim.clearCalls();
    const run = await doctor('bmc-board', { [PASSWORD_ENV]: PASSWORD });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe(
      [
        'target bmc-board; nothing is powered',
        `ok   secret ${PASSWORD_ENV} set (the BMC password for 127.0.0.1)`,
        `ok   power (ipmi)         BMC 127.0.0.1:${sim.port} answers: chassis power is off`,
        `ok   console (ipmi-sol)   BMC 127.0.0.1:${sim.port} answers 'sol info' (SOL enabled: true)`,
        "ok   network (qemu-tap)   /dev/net/tun present (the board's tap device)",
      ].join('\n'),
    );
    // The chassis control was asked for the power state, and nothing else.
    expect(sim.calls()).toEqual(['get power']);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('says which BMC does not answer, with the fix, and exits 3', async () => {
    const run = await doctor('dead-bmc-board', { [PASSWORD_ENV]: PASSWORD });
    expect(run.exitCode, run.stdout + run.stderr).toBe(3);
    const lines = run.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('FAIL power (ipmi)'))).toMatch(
      /^FAIL power \(ipmi\) +IPMI BMC 127\.0\.0\.1 did not answer 'chassis power status' after 1 attempts/,
    );
    expect(lines).toContain(
      `     fix: make BMC 127.0.0.1 reachable on UDP ${downPort} (is it powered and on the lab network?), or correct power.host/power.port in targets/dead-bmc-board.ts`,
    );
    expect(lines.find((l) => l.startsWith('FAIL console (ipmi-sol)'))).toContain(
      `IPMI BMC 127.0.0.1:${downPort} did not answer 'sol info'`,
    );
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('names the password variable that is not set, and exits 2', async () => {
    sim.clearCalls();
    const run = await doctor('bmc-board');
    expect(run.exitCode, run.stdout + run.stderr).toBe(2);
    const lines = run.stdout.split('\n');
    expect(lines).toContain(`FAIL secret ${PASSWORD_ENV} not set (the BMC password for 127.0.0.1)`);
    expect(lines).toContain(`     fix: export ${PASSWORD_ENV}=... (the BMC password for 127.0.0.1) before running hil`);
    expect(lines.find((l) => l.startsWith('FAIL power (ipmi)'))).toMatch(
      new RegExp(`not checked: ${PASSWORD_ENV} is not set$`),
    );
    expect(sim.calls()).toEqual([]);
  });

  it('opens and closes a serial console, and reads the power only by its status command', async () => {
    const run = await doctor('serial-board');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('ok   power (command)      status command answers: off');
    expect(lines).toContain(`ok   console (serial)     serial:${pair.b} opens`);
    expect(existsSync(join(dir, 'powered-on'))).toBe(false);
    expect(existsSync(join(dir, 'powered-off'))).toBe(false);
  });

  it('says a serial device is not there, with the fix, and exits 3', async () => {
    const run = await doctor('unplugged-board');
    expect(run.exitCode, run.stdout + run.stderr).toBe(3);
    const lines = run.stdout.split('\n');
    const path = join(dir, 'ttyUSB-gone');
    expect(lines).toContain(
      `FAIL console (serial)     serial port ${path} does not exist: is the adapter plugged in? (see ls -l /dev/serial/by-id/)`,
    );
    expect(lines).toContain(
      '     fix: plug the adapter in, or correct console.path in targets/unplugged-board.ts (see ls -l /dev/serial/by-id/)',
    );
  });

  it('finds a lab interface in its namespace, and says which one is not there', async () => {
    // A namespace of this test's own, with a bridge standing for the board's lab interface.
    const netns = `hil-test-doctor-${process.pid}`;
    await execa('ip', ['netns', 'add', netns]);
    try {
      await execa('ip', ['-n', netns, 'link', 'add', 'lab0', 'type', 'bridge']);
      const commands = {
        driver: 'command',
        on: `touch ${join(dir, 'powered-on')}`,
        off: `touch ${join(dir, 'powered-off')}`,
        status: 'echo on',
      };
      const lab = (iface: string) => ({
        kind: 'lab',
        interface: iface,
        netns,
        mode: 'proxy',
        serverAddress: '10.78.0.250/24',
        mac: '52:54:00:a1:00:42',
      });
      for (const [name, iface] of [
        ['lab-board', 'lab0'],
        ['miswired-board', 'lab9'],
      ] as const) {
        writeTargetFile(targetsDir, {
          ...target(name, commands, { kind: 'serial', path: pair.b }),
          network: lab(iface),
        });
      }
      const ok = await doctor('lab-board');
      expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout.split('\n')).toContain(
        `ok   network (lab)        lab interface lab0 in namespace ${netns} exists (DOWN)`,
      );
      const bad = await doctor('miswired-board');
      expect(bad.exitCode, bad.stdout + bad.stderr).toBe(3);
      expect(bad.stdout.split('\n').slice(-2)).toEqual([
        `FAIL network (lab)        lab interface lab9 does not exist in namespace ${netns}`,
        `     fix: correct network.interface in targets/miswired-board.ts (see: ip -n ${netns} -br link)`,
      ]);
      expect(existsSync(join(dir, 'powered-on'))).toBe(false);
    } finally {
      await execa('ip', ['netns', 'del', netns], { reject: false });
    }
  });

  it('refuses an unknown target as bad input', async () => {
    const run = await doctor('no-such-board');
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("unknown target 'no-such-board'");
  });
});

describe('hil doctor --target, PDUs and console servers', { timeout: 120_000 }, () => {
  const COMMUNITY_ENV = 'DOCTOR_TEST_PDU_COMMUNITY';
  const COMMUNITY = `doc-${process.pid}-rw`;
  const pdus = suiteScope();
  let agent: Snmpd;
  let pdudaemonPort: number;
  let consoleServer: Server;
  let consolePort: number;
  let pduDir: string;

  beforeAll(async () => {
    pduDir = pdus.tempDir('hil-doctor-pdu-');
    agent = await pdus.start(Snmpd.start(COMMUNITY));
    ({ port: pdudaemonPort } = await pdus.start(startPdudaemon(pduDir, 'rack-pdu', join(pduDir, 'actions'))));
    // A console server port: the doctor only connects and closes.
    consoleServer = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => consoleServer.listen(0, '127.0.0.1', () => resolve()));
    pdus.defer(() => new Promise<void>((resolve) => consoleServer.close(() => resolve())));
    consolePort = (consoleServer.address() as { port: number }).port;
    const write = (value: { name: string }) => writeTargetFile(targetsDir, value);
    const tcp = (port: number) => ({ kind: 'tcp', host: '127.0.0.1', port });
    write(
      target(
        'apc-board',
        {
          driver: 'snmp-pdu',
          host: '127.0.0.1',
          port: agent.port,
          profile: 'apc-rpdu',
          outlet: 4,
          auth: { version: '2c', communityEnv: COMMUNITY_ENV },
          retries: 0,
        },
        tcp(consolePort),
      ),
    );
    write(
      target(
        'pdud-board',
        { driver: 'pdudaemon', url: `http://127.0.0.1:${pdudaemonPort}`, pdu: 'rack-pdu', outlet: 2 },
        tcp(consolePort),
      ),
    );
    const closed = await freeTcpPort();
    write(
      target(
        'pdud-down-board',
        { driver: 'pdudaemon', url: `http://127.0.0.1:${closed}`, pdu: 'rack-pdu', outlet: 2, requestTimeoutS: 5 },
        tcp(closed),
      ),
    );
  }, 60_000);

  it('reads an SNMP PDU outlet without switching it, and connects to a console server', async () => {
    agent.clearCalls();
    const run = await doctor('apc-board', { [COMMUNITY_ENV]: COMMUNITY });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain(`ok   power (snmp-pdu)     PDU 127.0.0.1:${agent.port} answers: outlet 4 is on`);
    expect(lines).toContain(`ok   console (tcp)        tcp:127.0.0.1:${consolePort} opens`);
    expect(agent.sets()).toEqual([]);
    expect(agent.outlet(4)).toBe('1');
    expect(run.stdout + run.stderr).not.toContain(COMMUNITY);
  });

  it('finds pdudaemon listening, and switches nothing', async () => {
    const run = await doctor('pdud-board');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.split('\n').find((l) => l.startsWith('ok   power (pdudaemon)'))).toMatch(
      new RegExp(`pdudaemon at http://127\\.0\\.0\\.1:${pdudaemonPort} answers \\(HTTP \\d+\\)`),
    );
    expect(existsSync(join(pduDir, 'actions'))).toBe(false);
  });

  it('says pdudaemon and the console server do not answer, with the fixes, and exits 3', async () => {
    const run = await doctor('pdud-down-board');
    expect(run.exitCode, run.stdout + run.stderr).toBe(3);
    const lines = run.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('FAIL')).map((l) => l.split(/\s{2,}/)[0])).toEqual([
      'FAIL power (pdudaemon)',
      'FAIL console (tcp)',
    ]);
    expect(
      lines.some((l) =>
        /^ {5}fix: start pdudaemon with its HTTP listener at http:\/\/127\.0\.0\.1:\d+, or correct power\.url in targets\/pdud-down-board\.ts$/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(
      lines.some((l) =>
        /^ {5}fix: start the console server on 127\.0\.0\.1:\d+, or correct console\.host\/console\.port in targets\/pdud-down-board\.ts$/.test(
          l,
        ),
      ),
    ).toBe(true);
  });
});
