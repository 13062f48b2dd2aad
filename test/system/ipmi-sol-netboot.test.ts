/**
 * End to end through a BMC, console included: a QEMU board whose power is
 * switched only over IPMI and whose serial console is read only over IPMI
 * Serial-over-LAN. OpenIPMI's ipmi_sim is the BMC; its SOL device is
 * 'tcp:127.0.0.1:<port>' (ipmi_lan(5)), where socat joins it to a Unix socket
 * that the board's serial port connects to when the BMC powers the board on
 * (the board runs in the job's network namespace; a Unix socket reaches
 * across, 127.0.0.1 would not).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline, sleep } from '../../harness/core/deadline.js';
import { startChild, type Child } from '../../harness/core/process.js';
import { runtimeRoot } from '../../harness/core/paths.js';
import {
  events,
  jobIdOf,
  NO_RESIDUE,
  residueOf,
  resultsDirOf,
  resultsRoot,
  startHil,
  writeTargetFile,
} from '../support/hil.js';
import { IpmiSim } from '../support/ipmi-sim.js';
import { freeTcpPort } from '../support/ports.js';

const PASSWORD_ENV = 'QEMU_IPMI_SOL_BMC_PASSWORD';
const PASSWORD = `sol-bmc-${process.pid}-pass`;
let dir: string;
let bridge: Child;
let sim: IpmiSim;
let targetsDir: string;
let results: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hil-sol-board-'));
  const socket = join(dir, 'serial.sock');
  const tcpPort = await freeTcpPort();
  // The BMC's end first (ipmi_sim connects when it starts), then the board's end (QEMU connects when powered on).
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  bridge = startChild(
    'socat',
    'socat',
    ['-d', '-d', `TCP-LISTEN:${tcpPort},bind=127.0.0.1,reuseaddr`, `UNIX-LISTEN:${socket},unlink-early`],
    {
      onStderrLine: (line) => {
        if (line.includes('listening on')) listening();
      },
    },
  );
  await Deadline.in(10_000, 'socat to listen').race(ready);
  sim = await IpmiSim.start(
    'hiladmin',
    PASSWORD,
    { target: 'qemu-ipmi-sol', runtimeDir: runtimeRoot(), consoleSocket: socket },
    { sol: `tcp:127.0.0.1:${tcpPort}` },
  );
  targetsDir = mkdtempSync(join(tmpdir(), 'hil-ipmi-sol-targets-'));
  results = resultsRoot();
  // The BMC answers 'chassis power on' only once its chassis control has started QEMU, seconds on a
  // loaded machine: a request time-out that long keeps ipmitool from sending it (and the BMC from running it) again.
  writeTargetFile(targetsDir, {
    name: 'qemu-ipmi-sol',
    description: 'QEMU board behind an IPMI BMC (ipmi_sim), console over SOL',
    image: 'busybox',
    power: {
      driver: 'ipmi',
      host: '127.0.0.1',
      port: sim.port,
      username: 'hiladmin',
      passwordEnv: PASSWORD_ENV,
      cipherSuites: [3],
      offTimeS: 0,
      requestTimeoutS: 10,
      requestRetries: 1,
    },
    console: { kind: 'ipmi-sol' },
    network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:18' },
  });
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  await bridge?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(targetsDir, { recursive: true, force: true });
  rmSync(results, { recursive: true, force: true });
});

describe('netboot of a board switched and watched over IPMI', () => {
  it('reaches the shell over SOL, with the password on no command line and in no log', async () => {
    const child = startHil(['--target', 'qemu-ipmi-sol', '--targets-dir', targetsDir, '--results', results], {
      env: { [PASSWORD_ENV]: PASSWORD },
    });
    // While the job runs, look at every command line on the host.
    let done = false;
    const activations = new Set<string>();
    const leaks: string[] = [];
    const watching = (async () => {
      while (!done) {
        const ps = await execa('ps', ['-eo', 'pid,args'], { reject: false });
        for (const line of ps.stdout.split('\n')) {
          if (line.includes('sol activate') && line.includes(`-p ${sim.port} `))
            activations.add(line.trim().split(' ')[0]!);
          if (line.includes(PASSWORD)) leaks.push(line);
        }
        await sleep(500);
      }
    })();
    const result = await child;
    done = true;
    await watching;
    const output = `${String(result.stdout)}\n${String(result.stderr)}`;
    expect(result.exitCode, output).toBe(0);
    const resultsDir = resultsDirOf(String(result.stdout));
    const logged = events(resultsDir);
    expect(logged.filter((e) => e.type === 'console').map((e) => [e.state, e.detail])).toEqual([
      ['connected', `SOL hiladmin@127.0.0.1:${sim.port} (cipher suite 3)`],
    ]);
    expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toEqual([
      'DHCP lease',
      'kernel fetched',
      'initrd fetched',
      'Linux version',
      'init started',
      'shell prompt',
    ]);
    expect(sim.sets()).toEqual(['set boot pxe', 'set power 0', 'set power 1', 'set power 0']);
    // One SOL session for the whole run, seen running, never with the password on its command line.
    expect(activations.size).toBe(1);
    expect(leaks).toEqual([]);
    const consoleLog = readFileSync(join(resultsDir, 'console.log'), 'utf8');
    expect(consoleLog).toContain('Linux version');
    expect(consoleLog).not.toContain('SOL Session operational');
    expect(consoleLog + readFileSync(join(resultsDir, 'events.jsonl'), 'utf8') + output).not.toContain(PASSWORD);
    expect(residueOf(jobIdOf(resultsDir))).toEqual(NO_RESIDUE);
  }, 300_000);
});
