/**
 * harness/core/process.ts against real programs (sh, cat, sleep, node): output,
 * exit codes, input, environment, time-outs that end a whole process group,
 * IPC, and stopping a child that ignores SIGTERM.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { run, runBounded, startChild, startForeground } from '../../harness/core/process.js';

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readStatus(pid));
function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 'State: Z';
  }
}

describe('run', () => {
  it('returns stdout without its last newline, with the input on stdin', async () => {
    expect(await run('cat', [], { input: 'one\ntwo\n' })).toBe('one\ntwo');
    expect(await run('sh', ['-c', 'printf "a\\n\\n"'])).toBe('a\n');
  });

  it('throws with the exit code and the last lines of stderr', async () => {
    await expect(run('sh', ['-c', 'echo first >&2; echo second >&2; exit 3'])).rejects.toThrow(
      'sh -c echo first >&2; echo second >&2; exit 3 failed (exit 3): first | second',
    );
  });

  it('names a program that is not there', async () => {
    await expect(run('no-such-program-here', ['x'])).rejects.toThrow(
      'no-such-program-here x failed (exit undefined): spawn no-such-program-here ENOENT',
    );
  });

  it('stops a command at its time-out', async () => {
    await expect(run('sleep', ['30'], { timeoutMs: 200 })).rejects.toThrow(
      'sleep 30 failed (exit SIGTERM): timed out after 200 ms',
    );
  });
});

describe('runBounded', () => {
  it('gives exit code, stdout and stderr, with extra environment for the child only', async () => {
    const outcome = await runBounded('echo "$HIL_TEST_VALUE"; echo err >&2; exit 4', [], {
      deadline: Deadline.in(10_000, 'the command'),
      shell: true,
      env: { HIL_TEST_VALUE: 'secret-free' },
    });
    expect(outcome).toMatchObject({ exitCode: 4, stdout: 'secret-free', stderr: 'err', timedOut: false });
    expect(process.env.HIL_TEST_VALUE).toBeUndefined();
  });

  it('ends the command and what it started at the deadline, keeping the output so far', async () => {
    const outcome = await runBounded('sleep 30 & echo "$!"; wait', [], {
      deadline: Deadline.in(300, 'the command'),
      shell: true,
    });
    expect(outcome).toMatchObject({ exitCode: null, timedOut: true });
    const sleeper = Number(outcome.stdout);
    expect(sleeper).toBeGreaterThan(0);
    await Deadline.in(2000, 'the sleep to be gone').poll(() => (alive(sleeper) ? undefined : true));
  });

  it('says so in stderr when the program is not installed', async () => {
    const outcome = await runBounded('no-such-program-here', [], { deadline: Deadline.in(5000, 'it') });
    expect(outcome).toMatchObject({
      exitCode: null,
      stdout: '',
      stderr: 'spawn no-such-program-here ENOENT',
      timedOut: false,
    });
  });
});

describe('startChild', () => {
  it('forwards output lines and reports the exit', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const child = startChild('printer', 'sh', ['-c', 'echo one; echo two; echo bad >&2; exit 5'], {
      onStdoutLine: (line) => lines.push(line),
      onStderrLine: (line) => errors.push(line),
    });
    expect(await child.exited).toEqual({ exitCode: 5, signal: undefined });
    expect(lines).toEqual(['one', 'two']);
    expect(errors).toEqual(['bad']);
    expect(child.running).toBe(false);
  });

  it('talks JSON over IPC, and stops by SIGTERM to the process group', async () => {
    const child = startChild(
      'echo-server',
      process.execPath,
      ['-e', "process.on('message', (m) => process.send({ echoed: m })); setInterval(() => {}, 1000);"],
      { ipc: true },
    );
    const reply = new Promise((resolve) => child.subprocess.once('message', resolve));
    child.subprocess.send({ hello: 1 });
    expect(await Deadline.in(10_000, 'the reply').race(reply)).toEqual({ echoed: { hello: 1 } });
    expect(await child.stop(2000)).toEqual({ exitCode: undefined, signal: 'SIGTERM' });
  });

  it('sees a child end that exits when the harness disconnects its IPC channel', async () => {
    const child = startChild(
      'ipc-child',
      process.execPath,
      ['-e', "process.on('disconnect', () => process.exit(0)); process.send('up');"],
      { ipc: true },
    );
    await Deadline.in(10_000, 'the child to start').race(
      new Promise((resolve) => child.subprocess.once('message', resolve)),
    );
    child.subprocess.disconnect();
    expect(await Deadline.in(10_000, 'the child to end').race(child.exited)).toEqual({
      exitCode: 0,
      signal: undefined,
    });
  });

  it('kills a child that ignores SIGTERM after the grace time', async () => {
    let ready: () => void = () => {};
    const readySeen = new Promise<void>((resolve) => (ready = resolve));
    const child = startChild('stubborn', 'sh', ['-c', "trap '' TERM; echo ready; while :; do sleep 1; done"], {
      onStdoutLine: (line) => line === 'ready' && ready(),
    });
    await Deadline.in(5000, 'the shell to ignore SIGTERM').race(readySeen);
    expect(await child.stop(300)).toEqual({ exitCode: undefined, signal: 'SIGKILL' });
  });

  it('has no pid when the program is not there, and stops at once', async () => {
    const child = startChild('missing', 'no-such-program-here', []);
    expect(await child.exited).toEqual({ exitCode: undefined, signal: undefined });
    expect(() => child.pid).toThrow('missing has no pid: it failed to start');
    expect(await child.stop()).toEqual({ exitCode: undefined, signal: undefined });
  });
});

describe('startForeground', () => {
  it('runs a program on this terminal with added environment and gives its exit code', async () => {
    const child = startForeground('sh', ['-c', 'exit "$HIL_TEST_CODE"'], { HIL_TEST_CODE: '7' });
    expect(await child.exited).toEqual({ exitCode: 7, signal: undefined });
  });
});
