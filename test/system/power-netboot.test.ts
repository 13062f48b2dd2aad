/**
 * End to end through each power driver of a lab: a QEMU board whose power is
 * switched only through a real peer, whose power handler starts and stops
 * QEMU in the network namespace of the job that holds the target
 * (test/support/qemu-board.ts). So each run goes: the driver powers the board
 * through its peer, the board netboots from the job's own PXE server, the
 * driver powers it off at the end. The peers:
 * - ipmi: OpenIPMI's ipmi_sim as the BMC (bootdev pxe, then a power cycle);
 * - snmp-pdu: net-snmp's snmpd as an APC PDU, the board on one outlet;
 * - command: the lab's own relay script, run by the command driver;
 * - ipmi + SOL: ipmi_sim again, the board's serial console read only over
 *   Serial-over-LAN: ipmi_sim's SOL device is 'tcp:127.0.0.1:<port>'
 *   (ipmi_lan(5)), where socat joins it to a Unix socket that the board's
 *   serial port connects to (the board runs in the job's namespace; a Unix
 *   socket reaches across, 127.0.0.1 would not).
 * Every driver gets the same checks: its power steps and the milestones in
 * order, exactly what its peer was told, the console's events, its secret on
 * no command line while the job runs and in no file or output of the run,
 * and nothing left behind.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../harness/core/deadline.js';
import { runtimeRoot } from '../../harness/core/paths.js';
import {
  events,
  hil,
  jobIdOf,
  NO_RESIDUE,
  readResult,
  residueOf,
  resultsDirOf,
  writeTargetFile,
} from '../support/hil.js';
import { IpmiSim } from '../support/ipmi-sim.js';
import { freeTcpPort } from '../support/ports.js';
import { SocketBridge } from '../support/pty.js';
import { endQemuBoard, QEMU_BOARD_FUNCTIONS } from '../support/qemu-board.js';
import { BUSYBOX_MILESTONES, placesHolding } from '../support/runs.js';
import { type Scope, testScope } from '../support/scope.js';
import { Snmpd } from '../support/snmpd.js';

/** A board behind a started peer, as the target file and the checks need it. */
type Board = {
  power: Record<string, unknown>;
  console: Record<string, unknown>;
  /** The variable the driver reads its secret from (a BMC password, a community, a relay token), and the secret. */
  secretEnv: string;
  secret: string;
  /** What the peer was told to do to the board's power, in order. */
  told(): string[];
  /** The run's console events, [state, detail]. */
  consoleEvents: [string, string | undefined][];
  /** A command line of the driver's console session, when the console goes through the peer (SOL). */
  isSession?: (commandLine: string) => boolean;
};

type NetbootCase = {
  title: string;
  target: string;
  mac: string;
  /** Starts the peer in `scope` (stopped after the test), powering a board that boots in the job holding `target`. */
  start(scope: Scope, target: string): Promise<Board>;
  /** The run's power events, [action, ok]. */
  powerSteps: [string, boolean][];
  told: string[];
};

const bmcPower = (port: number, passwordEnv: string) => ({
  driver: 'ipmi',
  host: '127.0.0.1',
  port,
  username: 'hiladmin',
  passwordEnv,
  cipherSuites: [3],
  offTimeS: 0,
});

const OUTLET = 5;
const OUTLET_CONTROL = `.1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.${OUTLET}`;
// The board's serial port attaches when the peer powers it on, and detaches when the peer powers it off at the end.
const QEMU_SOCKET_CONSOLE: [string, string | undefined][] = [
  ['connected', 'QEMU serial port attached'],
  ['disconnected', 'QEMU serial port detached'],
];

const CASES: NetbootCase[] = [
  {
    title: 'a BMC over IPMI: PXE boot and a power cycle, then off at the end',
    target: 'qemu-ipmi',
    mac: '52:54:00:a1:00:17',
    async start(scope, target) {
      const secret = `bmc-${process.pid}-pass`;
      const sim = await scope.start(IpmiSim.start('hiladmin', secret, { target, runtimeDir: runtimeRoot() }));
      return {
        power: bmcPower(sim.port, 'QEMU_IPMI_BMC_PASSWORD'),
        console: { kind: 'qemu-socket' },
        secretEnv: 'QEMU_IPMI_BMC_PASSWORD',
        secret,
        told: () => sim.sets(),
        consoleEvents: QEMU_SOCKET_CONSOLE,
      };
    },
    powerSteps: [
      ['bootdev', true],
      ['cycle', true],
      ['off', true],
    ],
    // PXE boot, off, on (the cycle), and off at the end.
    told: ['set boot pxe', 'set power 0', 'set power 1', 'set power 0'],
  },
  {
    title: 'a PDU outlet over SNMP: the outlet cycled, then off at the end',
    target: 'qemu-pdu',
    mac: '52:54:00:a1:00:27',
    async start(scope, target) {
      const secret = `pdu${process.pid}rw`;
      const agent = await scope.start(Snmpd.start(secret, { target, runtimeDir: runtimeRoot(), outlet: OUTLET }));
      return {
        power: {
          driver: 'snmp-pdu',
          host: '127.0.0.1',
          port: agent.port,
          profile: 'apc-rpdu',
          outlet: OUTLET,
          auth: { version: '2c', communityEnv: 'QEMU_PDU_COMMUNITY' },
          offTimeS: 1,
        },
        console: { kind: 'qemu-socket' },
        secretEnv: 'QEMU_PDU_COMMUNITY',
        secret,
        // SNMP runs over UDP: a SET whose answer is late is sent again (net-snmp's retries), the same request
        // twice in a row; the outlet was told each state once.
        told: () =>
          agent
            .sets()
            .filter((set) => set.startsWith(OUTLET_CONTROL))
            .filter((set, i, all) => set !== all[i - 1]),
        consoleEvents: QEMU_SOCKET_CONSOLE,
      };
    },
    powerSteps: [
      ['cycle', true],
      ['off', true],
    ],
    // The board's outlet: off and on (the cycle), then off at the end.
    told: [`${OUTLET_CONTROL} integer 2`, `${OUTLET_CONTROL} integer 1`, `${OUTLET_CONTROL} integer 2`],
  },
  {
    title: "the lab's relay commands: off and on, then off at the end",
    target: 'qemu-relay',
    mac: '52:54:00:a1:00:37',
    async start(scope, target) {
      const secret = `relay-${process.pid}-token`;
      const dir = scope.tempDir('hil-relay-');
      scope.defer(() => endQemuBoard(dir));
      // The relay takes a command only with its token, which the harness's environment carries to it.
      writeFileSync(join(dir, 'token'), secret, { mode: 0o600 });
      const relay = join(dir, 'relay.sh');
      writeFileSync(
        relay,
        `#!/bin/sh\ndir='${dir}'\nTARGET='${target}'\nRUNTIME='${runtimeRoot()}'\n${QEMU_BOARD_FUNCTIONS}` +
          `[ "$RELAY_TOKEN" = "$(cat "$dir/token")" ] || { echo "relay: wrong token" >&2; exit 7; }\n` +
          'case $1 in\n' +
          '  on) echo on >> "$dir/told.log"; running || start_qemu ;;\n' +
          '  off) echo off >> "$dir/told.log"; stop_qemu; true ;;\n' +
          '  status) if running; then echo on; else echo off; fi ;;\n' +
          'esac\n',
      );
      chmodSync(relay, 0o755);
      return {
        power: {
          driver: 'command',
          on: `${relay} on`,
          off: `${relay} off`,
          status: `${relay} status`,
          timeoutS: 60,
          offTimeS: 0,
        },
        console: { kind: 'qemu-socket' },
        secretEnv: 'RELAY_TOKEN',
        secret,
        told: () => readFileSync(join(dir, 'told.log'), 'utf8').trim().split('\n'),
        consoleEvents: QEMU_SOCKET_CONSOLE,
      };
    },
    powerSteps: [
      ['cycle', true],
      ['off', true],
    ],
    told: ['off', 'on', 'off'],
  },
  {
    title: 'a BMC over IPMI with the console over SOL: one SOL session for the whole run',
    target: 'qemu-ipmi-sol',
    mac: '52:54:00:a1:00:18',
    async start(scope, target) {
      const secret = `sol-bmc-${process.pid}-pass`;
      const dir = scope.tempDir('hil-sol-board-');
      const bridge = await scope.start(SocketBridge.start(await freeTcpPort(), join(dir, 'serial.sock')));
      const sim = await scope.start(
        IpmiSim.start(
          'hiladmin',
          secret,
          { target, runtimeDir: runtimeRoot(), consoleSocket: bridge.socket },
          { sol: `tcp:127.0.0.1:${bridge.tcpPort}` },
        ),
      );
      return {
        // The BMC answers 'chassis power on' only once its chassis control has started QEMU, seconds on a loaded
        // machine: a request time-out that long keeps ipmitool from sending it (and the BMC from running it) again.
        power: { ...bmcPower(sim.port, 'QEMU_IPMI_SOL_BMC_PASSWORD'), requestTimeoutS: 10, requestRetries: 1 },
        console: { kind: 'ipmi-sol' },
        secretEnv: 'QEMU_IPMI_SOL_BMC_PASSWORD',
        secret,
        told: () => sim.sets(),
        consoleEvents: [['connected', `SOL hiladmin@127.0.0.1:${sim.port} (cipher suite 3)`]],
        isSession: (line) => line.includes('sol activate') && line.includes(`-p ${sim.port} `),
      };
    },
    powerSteps: [
      ['bootdev', true],
      ['cycle', true],
      ['off', true],
    ],
    told: ['set boot pxe', 'set power 0', 'set power 1', 'set power 0'],
  },
];

/**
 * Looks at every command line on the host until stopped: the pids of the
 * console sessions `isSession` picks, and every line that holds `secret`.
 */
function watchCommandLines(secret: string, isSession: (line: string) => boolean = () => false) {
  let done = false;
  const sessions = new Set<string>();
  const leaks: string[] = [];
  const watching = (async () => {
    while (!done) {
      const ps = await execa('ps', ['-eo', 'pid,args'], { reject: false });
      for (const line of ps.stdout.split('\n')) {
        if (isSession(line)) sessions.add(line.trim().split(' ')[0]!);
        if (line.includes(secret)) leaks.push(line);
      }
      await sleep(500);
    }
  })();
  return {
    async stop(): Promise<{ sessions: Set<string>; leaks: string[] }> {
      done = true;
      await watching;
      return { sessions, leaks };
    },
  };
}

const scope = testScope();

describe('netboot of a board powered only through its peer', () => {
  for (const c of CASES) {
    it(c.title, async () => {
      const board = await c.start(scope, c.target);
      const targetsDir = scope.tempDir('hil-netboot-targets-');
      const results = scope.results();
      writeTargetFile(targetsDir, {
        name: c.target,
        description: `QEMU board powered through ${String(board.power.driver)}`,
        image: 'busybox',
        power: board.power,
        console: board.console,
        network: { kind: 'qemu-tap', mac: c.mac },
      });
      const watch = watchCommandLines(board.secret, board.isSession);
      const run = await hil(['--target', c.target, '--targets-dir', targetsDir, '--results', results], {
        env: { [board.secretEnv]: board.secret },
      });
      const seen = await watch.stop();
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = resultsDirOf(run.stdout);
      const logged = events(dir);
      expect(logged.filter((e) => e.type === 'power').map((e) => [e.action, e.ok])).toEqual(c.powerSteps);
      expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toEqual(BUSYBOX_MILESTONES);
      expect(logged.filter((e) => e.type === 'console').map((e) => [e.state, e.detail])).toEqual(board.consoleEvents);
      expect(board.told()).toEqual(c.told);
      // A console through the peer: one session for the whole run, seen running.
      if (board.isSession) expect(seen.sessions.size).toBe(1);
      const consoleLog = readResult(dir, 'console.log');
      expect(consoleLog).toContain('Linux version');
      expect(consoleLog).not.toContain('SOL Session operational');
      // The secret: on no command line while the job ran, in no file of the run, in no output.
      expect(seen.leaks).toEqual([]);
      expect(placesHolding(board.secret, results, { stdout: run.stdout, stderr: run.stderr })).toEqual([]);
      // The QEMU the peer started carries the job id in its name: gone with the job, like everything else.
      expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
    }, 300_000);
  }
});
