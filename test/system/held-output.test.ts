/**
 * A command that leaves a process of its own holding its output (a relay
 * script that starts a daemon with setsid, outside its process group, where
 * no signal to the group reaches it) cannot hold up the job: every wait for
 * a command or a child to end is bounded, after which its pipes are let go
 * and the run moves on, saying so. The processes left are the test's to end,
 * by pid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { runBounded, startChild } from '../../harness/core/process.js';
import { hil, jobIdOf, NO_RESIDUE, residueOf, resultsDirOf, resultsRoot, writeTargetFile } from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';

let results: string;
let state: string;
/** A sleep nobody else runs: its command line marks the processes the commands leave. */
const MARK = `3599.${process.pid}`;

beforeAll(async () => {
  results = resultsRoot();
  state = mkdtempSync(join(tmpdir(), 'hil-held-'));
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

afterEach(() => {
  for (const pid of leftBehind()) process.kill(pid, 'SIGKILL');
});

afterAll(() => {
  rmSync(results, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

/** Pids of the marked sleeps still running. */
function leftBehind(): number[] {
  return execaSync('pgrep', ['-f', `^sleep ${MARK}$`], { reject: false })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
}

describe('commands that leave a process holding their output', () => {
  it('a job whose power off command leaves one still ends, through its teardown', async () => {
    const targets = join(state, 'targets');
    execaSync('mkdir', ['-p', targets]);
    writeTargetFile(targets, {
      name: 'relay-held',
      image: 'busybox',
      power: { driver: 'command', on: 'true', off: `setsid sleep ${MARK} &`, timeoutS: 5, offTimeS: 0 },
      console: { kind: 'qemu-socket' },
      network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:61' },
      powerOffAtEnd: true,
      // No board answers: the first milestone (DHCP lease, 60 s) runs out after 3 s.
      timeoutScale: 0.05,
    });
    const run = await hil(['--target', 'relay-held', '--targets-dir', targets, '--results', results], {
      env: { PXE_HIL_RUNTIME_DIR: join(state, 'run'), PXE_HIL_LOCK_DIR: join(state, 'locks') },
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const held = 'warning   power off command left a process holding its output; went on without it';
    // Once in the power cycle (off, then on), once in the teardown.
    expect(run.stdout.split('\n').filter((line) => line.includes(held))).toHaveLength(2);
    expect(run.stdout).toMatch(/result\s+FAILED \(exit 1\): milestone 'DHCP lease' not reached within 3 s/);
    expect(residueOf(jobIdOf(resultsDirOf(run.stdout)))).toEqual(NO_RESIDUE);
    expect(leftBehind()).toHaveLength(2);
  }, 120_000);

  it('a command that runs out of time is killed, and its held output let go', async () => {
    const outcome = await runBounded(`echo started; setsid sleep ${MARK} & exec sleep 600`, [], {
      shell: true,
      deadline: Deadline.in(500, 'the test command'),
    });
    expect({ ...outcome, durationMs: 0 }).toEqual({
      exitCode: null,
      stdout: 'started',
      stderr: '',
      timedOut: true,
      outputHeld: true,
      durationMs: 0,
    });
    expect(leftBehind()).toHaveLength(1);
  }, 60_000);

  it('a child stopped while a process outside its group holds its pipes is stopped all the same', async () => {
    const child = startChild('holder', 'sh', ['-c', `setsid sleep ${MARK} & exec sleep 600`]);
    // Stopped once the other process has left the group (before, the group's signal would reach it too).
    await Deadline.in(10_000, 'the setsid sleep to start').poll(() => (leftBehind().length === 1 ? true : undefined));
    const exit = await child.stop(200);
    expect(exit).toEqual({ exitCode: undefined, signal: 'SIGTERM', outputHeld: true });
    expect(child.running).toBe(false);
    expect(leftBehind()).toHaveLength(1);
  }, 60_000);
});
