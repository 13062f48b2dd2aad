/**
 * Target locks with real flock(1) holders in separate processes: a second
 * job waits and says who holds the target, runs once the holder lets go, a
 * holder killed with SIGKILL frees the target at once, and a wait that runs
 * out ends with exit 3. No board is booted: the waiting job is interrupted
 * as soon as it is past the lock.
 */
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { lockTarget } from '../../harness/run/target-lock.js';
import { hil, REPO, startHil } from '../support/hil.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let state: string;
let results: string;
let env: Record<string, string>;

beforeAll(() => {
  state = files.tempDir('hil-locks-');
  results = files.results();
  env = { PXE_HIL_RUNTIME_DIR: join(state, 'run'), PXE_HIL_LOCK_DIR: join(state, 'lock') };
});

/** A holder process; resolves once it holds the lock (wrapped: the child itself is a promise). */
async function holder(target: string, extraEnv: Record<string, string> = {}): Promise<{ child: ResultPromise }> {
  const child = execa(process.execPath, ['--import', 'tsx', 'test/support/lock-holder.ts', target], {
    cwd: REPO,
    env: { ...env, ...extraEnv },
    stdin: 'pipe',
    reject: false,
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
    void child.then((r) => reject(new Error(`holder exited: ${r.stderr}`)));
  });
  return { child };
}

describe('target locks', () => {
  it('a second job waits, names the holder, and runs when the holder releases', async () => {
    const { child: first } = await holder('qemu-x86', { BUILD_TAG: 'jenkins-lab-42' });
    const lines: string[] = [];
    let released = false;
    let interrupted = false;
    const second = startHil(
      ['--target', 'qemu-x86', '--image', 'busybox', '--results', results, '--lock-timeout', '120'],
      {
        env,
        onLine: (line, proc) => {
          lines.push(line);
          if (!released && /target qemu-x86 is locked by/.test(line)) {
            released = true;
            first.stdin?.write('release\n');
          }
          // Past the lock: this job holds the target now; stop it before it boots anything.
          if (!interrupted && /images\s+preparing image/.test(line)) {
            interrupted = true;
            proc.kill('SIGINT');
          }
        },
      },
    );
    const run = await second;
    await first;
    const waited = lines.find((l) => l.includes('is locked by'))!;
    expect(waited).toMatch(
      new RegExp(
        `warning\\s+target qemu-x86 is locked by pid ${first.pid}, jenkins-lab-42, since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z; waiting up to 120 s`,
      ),
    );
    expect(interrupted).toBe(true);
    expect(run.exitCode, String(run.all)).toBe(130);
  }, 60_000);

  it('SIGKILL of the holder frees the target at once', async () => {
    const { child: first } = await holder('board-a');
    const waiting = lockTarget('board-a', 30, () => {});
    first.kill('SIGKILL');
    await first;
    // flock(2) locks die with the holder's descriptors: the waiter gets it without waiting out its 30 s.
    const lock = await waiting;
    await lock.release();
    const again = await lockTarget('board-a', 0, () => {}).catch((e: Error) => e);
    expect(again).not.toBeInstanceOf(Error);
    if (!(again instanceof Error)) await again.release();
  }, 30_000);

  it('ends with exit 3 when the lock is not free within --lock-timeout', async () => {
    const { child: first } = await holder('qemu-x86', { BUILD_TAG: 'jenkins-lab-43' });
    try {
      const run = await hil(
        ['--target', 'qemu-x86', '--image', 'busybox', '--results', results, '--lock-timeout', '1'],
        { env },
      );
      expect(run.exitCode, run.stdout + run.stderr).toBe(3);
      expect(run.stdout).toMatch(
        new RegExp(
          `result\\s+LAB-FAULT \\(exit 3\\): target 'qemu-x86' is still locked by pid ${first.pid}, jenkins-lab-43, since [^ ]+ after 1 s; try again later or raise --lock-timeout`,
        ),
      );
    } finally {
      first.stdin?.write('release\n');
      await first;
    }
  }, 60_000);
});
