/**
 * The command power driver running real shell commands that keep a board's
 * power state in a file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandPowerConfig } from '../../harness/config/target.js';
import { LabFault } from '../../harness/core/errors.js';
import { CommandPower, parseStateLine } from '../../harness/power/command.js';

let dir: string;
const state = () => readFileSync(join(dir, 'state'), 'utf8').trim();
const log = () => readFileSync(join(dir, 'log'), 'utf8').trim().split('\n');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-command-power-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function config(overrides: Partial<CommandPowerConfig> = {}): CommandPowerConfig {
  return {
    driver: 'command',
    on: 'echo on > state; echo "$HIL_POWER_ACTION" >> log',
    off: 'echo off > state; echo "$HIL_POWER_ACTION" >> log',
    status: 'cat state',
    timeoutS: 5,
    offTimeS: 0,
    ...overrides,
  };
}

async function faultOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

// On, off, a cycle of off and on, status and its absence are the contract of every driver:
// test/system/power-contract.test.ts.
describe('command power driver', () => {
  it('cycles with the cycle command when there is one', async () => {
    writeFileSync(join(dir, 'log'), '');
    await new CommandPower(config({ cycle: 'echo on > state; echo "reset $HIL_POWER_ACTION" >> log' }), {
      cwd: dir,
    }).cycle();
    expect(log()).toEqual(['reset cycle']);
    expect(state()).toBe('on');
  });

  it('reports a failing command as a lab fault with the end of its stderr', async () => {
    const power = new CommandPower(
      config({
        off: 'echo relay 3 > /dev/null; echo "first line" >&2; echo "relay board not found on /dev/ttyUSB9" >&2; exit 4',
      }),
      { cwd: dir },
    );
    const error = await faultOf(power.off());
    expect(error).toBeInstanceOf(LabFault);
    expect(error.message).toBe('power off command failed (exit 4): first line | relay board not found on /dev/ttyUSB9');
  });

  it('stops a command that hangs at its time-out, with everything it started', async () => {
    const marker = `hil-hang-${process.pid}-${Date.now()}`;
    const power = new CommandPower(config({ on: `sleep 30 & echo ${marker} > /dev/null; wait`, timeoutS: 1 }), {
      cwd: dir,
    });
    const error = await faultOf(power.on());
    expect(error).toBeInstanceOf(LabFault);
    expect(error.message).toBe(
      `power on command did not finish within 1 s: sleep 30 & echo ${marker} > /dev/null; wait`,
    );
    // The command's process group was killed: no shell with the marker and no sleep it started.
    const left = execaSync('pgrep', ['-f', marker], { reject: false }).stdout.trim();
    expect(left).toBe('');
  });

  it('rejects status output that is not on or off', async () => {
    const garbled = await faultOf(new CommandPower(config({ status: 'echo maybe' }), { cwd: dir }).status!());
    expect(garbled).toBeInstanceOf(LabFault);
    expect(garbled.message).toBe("power status command printed 'maybe', expected 'on' or 'off'");
  });

  it('reads the last line of a status command', () => {
    expect(parseStateLine('relay 3:\nON\n')).toBe('on');
    expect(parseStateLine('off')).toBe('off');
    expect(parseStateLine('')).toBeUndefined();
  });
});
