/**
 * The IPMI Serial-over-LAN console against a real BMC: OpenIPMI's ipmi_sim
 * with its SOL on one end of a socat pty pair; the test plays the board on
 * the other end. Bytes go both ways, ipmitool's banner and escape character
 * never show, a session that drops is activated again, a stale session is
 * freed, and the password is never on a command line.
 */
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleSink } from '../../harness/console/console.js';
import { IpmiSolConsole, type SolBmc } from '../../harness/console/ipmi-sol.js';
import { Deadline, sleep } from '../../harness/core/deadline.js';
import { LabFault } from '../../harness/core/errors.js';
import { startChild } from '../../harness/core/process.js';
import { runBounded } from '../../harness/core/process.js';
import { IpmiSim } from '../support/ipmi-sim.js';
import { PtyPair, PtyPeer } from '../support/pty.js';
import { suiteScope, testScope } from '../support/scope.js';

const PASSWORD_ENV = 'SOL_TEST_BMC_PASSWORD';
const PASSWORD = `sol-${process.pid}-secret`;
const files = suiteScope();
const each = testScope();
let pair: PtyPair;
let sim: IpmiSim;
let board: PtyPeer;
let bmc: SolBmc;

beforeAll(async () => {
  pair = await files.start(PtyPair.start(files.tempDir('hil-sol-')));
  sim = await files.start(IpmiSim.start('soladmin', PASSWORD, undefined, { sol: pair.a }));
  board = new PtyPeer(pair.b);
  files.defer(() => board.close());
  bmc = { host: '127.0.0.1', port: sim.port, username: 'soladmin', passwordEnv: PASSWORD_ENV, cipherSuite: 3 };
}, 60_000);

class Collector implements ConsoleSink {
  text = '';
  states: string[] = [];
  data(chunk: Buffer): void {
    this.text += chunk.toString('latin1');
  }
  state(state: 'connected' | 'disconnected'): void {
    this.states.push(state);
  }
  async waitFor(text: string): Promise<void> {
    await Deadline.in(30_000, `${JSON.stringify(text)} from the SOL console`).poll(
      () => (this.text.includes(text) ? true : undefined),
      20,
    );
  }
}

async function openConsole(
  env: NodeJS.ProcessEnv = { [PASSWORD_ENV]: PASSWORD },
  target = bmc,
): Promise<{ sol: IpmiSolConsole; sink: Collector }> {
  const sol = new IpmiSolConsole(target, { env, backoff: { firstMs: 100, maxMs: 500 } });
  const sink = new Collector();
  await sol.open(sink);
  each.defer(() => sol.close());
  return { sol, sink };
}

/**
 * ipmi_sim 2.0.33 keeps the sequence number of the last SOL packet it acknowledged across sessions
 * (lanserv/sol.c), and ipmitool starts every session at 1: the first packet of a new session is taken
 * as a repeat, acknowledged and dropped, when the session before ended on 1 as well. A spare line end,
 * written until the board has one, gets the new session past that.
 */
async function primeSession(sol: IpmiSolConsole): Promise<void> {
  const before = board.received.length;
  await Deadline.in(60_000, 'a spare line end to reach the board').poll(async () => {
    if (board.received.length > before) return true;
    sol.write('\r');
    await sleep(1000);
    return board.received.length > before ? true : undefined;
  }, 0);
  expect(board.received.slice(before)).toMatch(/^\r+$/);
}

/** Both ways through one session: what the board prints arrives, what is written arrives at the board. */
async function roundTrip(sol: IpmiSolConsole, sink: Collector, tag: string): Promise<void> {
  await board.write(`board-${tag}\r\n`);
  await sink.waitFor(`board-${tag}\r\n`);
  const before = board.received.length;
  sol.write(`host-${tag}\r`);
  await board.waitFor(`host-${tag}\r`, 30_000);
  expect(board.received.slice(before)).toBe(`host-${tag}\r`);
}

describe('IPMI SOL console', () => {
  it("carries bytes both ways, without ipmitool's banner, and with the escape character as written", async () => {
    const { sol, sink } = await openConsole();
    expect(sol.endpoint).toBe(`ipmi-sol:127.0.0.1:${sim.port}`);
    expect(sink.states).toEqual(['connected']);
    await roundTrip(sol, sink, 'one');
    // '~.' at the start of a line would end ipmitool's session; written here it must reach the board as is.
    const before = board.received.length;
    sol.write('~.\r~~x\r~B\rend~.\r');
    await board.waitFor('end~.\r', 30_000);
    expect(board.received.slice(before)).toBe('~.\r~~x\r~B\rend~.\r');
    await roundTrip(sol, sink, 'two');
    expect(sink.text).toBe('board-one\r\nboard-two\r\n');
    expect(sink.states).toEqual(['connected']);
  }, 120_000);

  it('never puts the password on a command line while the session runs', async () => {
    const { sol } = await openConsole();
    const pid = sol.sessionPid!;
    const ps = await execa('ps', ['-eo', 'pid,args'], { reject: false });
    const line = ps.stdout.split('\n').find((l) => l.trim().startsWith(`${pid} `));
    expect(line).toContain('sol activate');
    expect(line).toContain('-E');
    expect(ps.stdout).not.toContain(PASSWORD);
  }, 60_000);

  it('activates again when the session drops', async () => {
    const { sol, sink } = await openConsole();
    await roundTrip(sol, sink, 'before');
    const first = sol.sessionPid!;
    process.kill(first, 'SIGKILL');
    await Deadline.in(60_000, 'the SOL console to reconnect').poll(
      () => (sink.states.length === 3 ? true : undefined),
      50,
    );
    expect(sink.states).toEqual(['connected', 'disconnected', 'connected']);
    expect(sol.sessionPid).not.toBe(first);
    await primeSession(sol);
    await roundTrip(sol, sink, 'after');
  }, 120_000);

  it('frees a session another client left active', async () => {
    /** ipmitool's arguments for `sol <action>` as the test's other client. */
    const solArgs = (action: 'activate' | 'deactivate') => [
      '-I',
      'lanplus',
      '-H',
      '127.0.0.1',
      '-p',
      String(sim.port),
      '-U',
      'soladmin',
      '-E',
      '-C',
      '3',
      'sol',
      action,
    ];
    const ipmitool = (action: 'activate' | 'deactivate') =>
      runBounded('ipmitool', solArgs(action), {
        deadline: Deadline.in(15_000, `ipmitool sol ${action}`),
        env: { IPMI_PASSWORD: PASSWORD },
      });
    // The session the previous test's console closed may not be released yet: the other client must get it, not fail on it.
    await ipmitool('deactivate');
    // Another client holds the SOL session (its stdin stays open, so it stays).
    const stale = startChild('stale sol', 'ipmitool', solArgs('activate'), {
      env: { IPMI_PASSWORD: PASSWORD },
      stdin: 'pipe',
    });
    each.defer(() => stale.stop(1000));
    const blocked = await Deadline.in(30_000, 'the stale session to be active').poll(async () => {
      const probe = await ipmitool('activate');
      return /already active/.test(probe.stderr) ? probe.stderr : undefined;
    }, 200);
    expect(blocked).toContain('SOL payload already active on another session');
    const { sol, sink } = await openConsole();
    await primeSession(sol);
    await roundTrip(sol, sink, 'freed');
  }, 120_000);

  it('says which variable is missing, and that a BMC does not answer, naming it', async () => {
    expect(() => new IpmiSolConsole(bmc, { env: {} })).toThrow(
      `environment variable ${PASSWORD_ENV} is not set: it must hold the BMC password for 127.0.0.1 (SOL console)`,
    );
    const down = { ...bmc, port: sim.port + 1 };
    const sol = new IpmiSolConsole(down, { env: { [PASSWORD_ENV]: PASSWORD } });
    const error = await sol.open(new Collector()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabFault);
    expect((error as Error).message).toMatch(
      new RegExp(`^IPMI BMC 127\\.0\\.0\\.1:${down.port} did not answer \\(SOL\\)`),
    );
    expect((error as Error).message).not.toContain(PASSWORD);
  }, 120_000);
});
