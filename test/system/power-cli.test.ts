/**
 * `hil power` as a user runs it: a board switched by power commands, a board
 * behind a real BMC (ipmi_sim), and a QEMU board, which has no power outside a job.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hil } from '../support/hil.js';
import { IpmiSim } from '../support/ipmi-sim.js';

let targetsDir: string;
let stateDir: string;
let sim: IpmiSim;
const PASSWORD = 'cli-bmc-pw-7';

const board = (name: string, power: unknown) => ({
  name,
  image: 'busybox',
  power,
  console: { kind: 'qemu-socket' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:31' },
});

beforeAll(async () => {
  targetsDir = mkdtempSync(join(tmpdir(), 'hil-targets-'));
  stateDir = mkdtempSync(join(tmpdir(), 'hil-power-state-'));
  sim = await IpmiSim.start('cliadmin', PASSWORD);
  const write = (name: string, value: unknown) =>
    writeFileSync(join(targetsDir, `${name}.ts`), `export default ${JSON.stringify(value)};\n`);
  const state = join(stateDir, 'state');
  write(
    'relay-board',
    board('relay-board', {
      driver: 'command',
      on: `echo on > ${state}`,
      off: `echo off > ${state}`,
      status: `cat ${state}`,
      offTimeS: 0,
    }),
  );
  write(
    'bmc-board',
    board('bmc-board', {
      driver: 'ipmi',
      host: '127.0.0.1',
      port: sim.port,
      username: 'cliadmin',
      passwordEnv: 'CLI_TEST_BMC_PASSWORD',
      cipherSuites: [3],
      offTimeS: 0,
      requestTimeoutS: 1,
      requestRetries: 1,
    }),
  );
  write(
    'blind-board',
    board('blind-board', { driver: 'command', on: `echo on > ${state}`, off: `echo off > ${state}`, offTimeS: 0 }),
  );
  write('vm-board', board('vm-board', { driver: 'qemu' }));
});

afterAll(async () => {
  await sim?.stop();
  rmSync(targetsDir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

const power = (target: string, action: string, env: Record<string, string> = {}) =>
  hil(['power', '--target', target, action, '--targets-dir', targetsDir, '--lock-timeout', '5'], {
    env: { PXE_HIL_LOCK_DIR: stateDir, ...env },
  });

describe('hil power', { timeout: 90_000 }, () => {
  it('switches a board with power commands and prints its status', async () => {
    expect((await power('relay-board', 'on')).exitCode).toBe(0);
    expect(readFileSync(join(stateDir, 'state'), 'utf8')).toBe('on\n');
    const status = await power('relay-board', 'status');
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toBe('on');
    expect((await power('relay-board', 'off')).exitCode).toBe(0);
    expect((await power('relay-board', 'status')).stdout).toBe('off');
  });

  it('cycles a board behind a BMC and reads its status, with the password from the environment', async () => {
    const env = { CLI_TEST_BMC_PASSWORD: PASSWORD };
    sim.clearCalls();
    const cycle = await power('bmc-board', 'cycle', env);
    expect(cycle.exitCode, cycle.stderr).toBe(0);
    expect(sim.sets()).toEqual(['set power 0', 'set power 1']);
    expect((await power('bmc-board', 'status', env)).stdout).toBe('on');
    expect(cycle.stdout + cycle.stderr).not.toContain(PASSWORD);
  });

  it('names the missing password variable with exit 2', async () => {
    const run = await power('bmc-board', 'status');
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(
      'pxe-hil: environment variable CLI_TEST_BMC_PASSWORD is not set: it must hold the BMC password for 127.0.0.1',
    );
  });

  it('says with exit 2 that a board without a status command has no status, and how to give it one', async () => {
    const run = await power('blind-board', 'status');
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      "pxe-hil: power driver 'command' cannot report the power state: the target's power commands have no 'status' command; add power.status (a command that prints on or off)",
    );
  });

  it('refuses a QEMU board with a usage error', async () => {
    const run = await power('vm-board', 'status');
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(
      'pxe-hil: target vm-board is a QEMU board: its power exists only inside a job (hil --target vm-board); hil power is for boards with a BMC, a PDU or power commands',
    );
  });

  it('refuses an unknown action', async () => {
    const run = await power('relay-board', 'reboot');
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe("pxe-hil: hil power needs one of on, off, cycle, status, got 'reboot'");
  });
});
