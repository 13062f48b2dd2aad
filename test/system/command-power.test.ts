/**
 * The command power driver running real shell commands that keep a board's
 * power state in a file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandPowerConfig } from '../../harness/config/target.js';
import { Deadline } from '../../harness/core/deadline.js';
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
    secretEnv: [],
    timeoutS: 5,
    offTimeS: 0,
    ...overrides,
  };
}

/** The command line of a process from /proc, as its argv; undefined once it is gone or a zombie (no argv). */
function argvOf(pid: number): string[] | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return argv ? argv.replace(/\0$/, '').split('\0') : undefined;
  } catch {
    return undefined;
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

/** Live processes whose argv is exactly `args`. */
const processesWithArgs = (args: string[]) => pids().filter((pid) => argvOf(pid)?.join('\0') === args.join('\0'));

/** Live processes whose command line contains `text`. */
const processesNaming = (text: string) => pids().filter((pid) => argvOf(pid)?.join(' ').includes(text));

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
    // A sleep with a duration no other process on the host has, its stdio off the command's pipes (so that the
    // command returns whether it survives or not), and its pid written where the test finds it.
    const duration = `30.${process.pid}${Date.now() % 1_000_000}`;
    const command = `sleep ${duration} </dev/null >/dev/null 2>&1 & echo $! > sleep.pid; wait`;
    rmSync(join(dir, 'sleep.pid'), { force: true });
    const power = new CommandPower(config({ on: command, timeoutS: 1 }), { cwd: dir });
    try {
      const error = await faultOf(power.on());
      expect(error).toBeInstanceOf(LabFault);
      expect(error.message).toBe(`power on command did not finish within 1 s: ${command}`);
      const sleeper = Number(readFileSync(join(dir, 'sleep.pid'), 'utf8').trim());
      expect(sleeper).toBeGreaterThan(1);
      // The command's process group was killed: neither the shell (its command line names the duration) nor the
      // sleep it started (pid and argv) is left, once the kernel has delivered the signal.
      await Deadline.in(5000, 'the killed command and its sleep to be gone')
        .poll(() => (processesNaming(duration).length === 0 ? true : undefined), 50)
        .catch(() => undefined);
      expect(processesNaming(duration)).toEqual([]);
      expect(processesWithArgs(['sleep', duration])).toEqual([]);
      // The pid the command recorded is no longer that sleep (gone, or a zombie, or by now another process).
      expect(argvOf(sleeper) ?? []).not.toEqual(['sleep', duration]);
    } finally {
      // A driver that let the sleep live: end it here, by the pid found for its unique argv.
      for (const pid of processesWithArgs(['sleep', duration])) process.kill(pid, 'SIGKILL');
    }
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
