/**
 * Pool locks with real lock holders in separate processes: a job takes
 * the first free target of its pool without waiting; when every target is
 * held it says who holds each, waits for all at once, takes the first one
 * let go and stops its other waits; a wait that runs out ends with a lab
 * fault naming the pool and its holders, and an interrupt ends it at once.
 * No board is booted.
 */
import { join } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabFault } from '../../harness/core/errors.js';
import { isLockHeld } from '../../harness/core/file-lock.js';
import { lockFromPool, type PoolHolder } from '../../harness/run/pool-lock.js';
import { REPO } from '../support/hil.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let lockDir: string;
let saved: string | undefined;

beforeAll(() => {
  lockDir = join(files.tempDir('hil-pool-locks-'), 'lock');
  saved = process.env.PXE_HIL_LOCK_DIR;
  process.env.PXE_HIL_LOCK_DIR = lockDir;
});
afterAll(() => {
  if (saved === undefined) delete process.env.PXE_HIL_LOCK_DIR;
  else process.env.PXE_HIL_LOCK_DIR = saved;
});

/** A holder process; resolves once it holds the target's lock (wrapped: the child itself is a promise). */
async function holder(target: string, build: string): Promise<{ child: ResultPromise }> {
  const child = execa(process.execPath, ['--import', 'tsx', 'test/support/lock-holder.ts', target], {
    cwd: REPO,
    env: { PXE_HIL_LOCK_DIR: lockDir, BUILD_TAG: build },
    stdin: 'pipe',
    reject: false,
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
    void child.then((r) => reject(new Error(`holder exited: ${r.stderr}`)));
  });
  return { child };
}

async function release(child: ResultPromise): Promise<void> {
  child.stdin?.write('release\n');
  await child;
}

/** The flock(1) processes this test process started (its own holders and waits) still running. */
function flocksOfThisTest(): string[] {
  return execaSync('pgrep', ['-a', '-P', String(process.pid), 'flock'], { reject: false })
    .stdout.split('\n')
    .filter(Boolean);
}

const POOL = ['pool-a', 'pool-b', 'pool-c'];

describe('pool locks', () => {
  it('takes the first free target of the pool without waiting', async () => {
    const { child: a } = await holder('pool-a', 'jenkins-a-1');
    try {
      let waited = false;
      const taken = await lockFromPool('p', POOL, { timeoutS: 30, onWait: () => (waited = true) });
      expect(taken.target).toBe('pool-b');
      expect(waited).toBe(false);
      await taken.lock.release();
    } finally {
      await release(a);
    }
  }, 30_000);

  it('waits for all when all are held, names each holder, takes the first let go, stops the other waits', async () => {
    const held = await Promise.all(POOL.map((t, i) => holder(t, `jenkins-h-${i}`)));
    const told: PoolHolder[][] = [];
    const taking = lockFromPool('p', POOL, {
      timeoutS: 60,
      onWait: (holders) => {
        told.push(holders);
        void release(held[2]!.child);
      },
    });
    const taken = await taking;
    try {
      expect(taken.target).toBe('pool-c');
      expect(told).toHaveLength(1);
      expect(told[0]!.map((h) => h.target)).toEqual(POOL);
      for (const [i, h] of told[0]!.entries())
        expect(h.holder).toMatch(new RegExp(`^pid ${held[i]!.child.pid}, jenkins-h-${i}, since \\d{4}-\\d\\d-\\d\\dT`));
      // The waits on pool-a and pool-b are gone (no flock of this process runs); this job holds pool-c itself.
      const left = flocksOfThisTest();
      expect(left, left.join('\n')).toEqual([]);
      expect(isLockHeld(join(lockDir, 'pool-c.lock'))).toBe(true);
    } finally {
      await taken.lock.release();
      await release(held[0]!.child);
      await release(held[1]!.child);
    }
    expect(flocksOfThisTest()).toEqual([]);
    expect(POOL.map((t) => isLockHeld(join(lockDir, `${t}.lock`)))).toEqual([false, false, false]);
  }, 60_000);

  it('ends with a lab fault naming the pool and its holders when none is free in time', async () => {
    const held = await Promise.all(POOL.slice(0, 2).map((t, i) => holder(t, `jenkins-t-${i}`)));
    try {
      const error = await lockFromPool('p2', POOL.slice(0, 2), { timeoutS: 1, onWait: () => {} }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LabFault);
      expect((error as LabFault).message).toMatch(
        new RegExp(
          `^pool 'p2' has no free target after 1 s \\(pool-a: pid ${held[0]!.child.pid}, jenkins-t-0, since [^;]+; pool-b: pid ${held[1]!.child.pid}, jenkins-t-1, since [^)]+\\); try again later, raise --lock-timeout, or add a board to the pool$`,
        ),
      );
      expect(flocksOfThisTest()).toEqual([]);
    } finally {
      for (const h of held) await release(h.child);
    }
  }, 60_000);

  it('an interrupt ends the wait at once with its reason, and stops every wait', async () => {
    const held = await Promise.all(POOL.slice(0, 2).map((t, i) => holder(t, `jenkins-i-${i}`)));
    try {
      const interrupt = new AbortController();
      const reason = new Error('interrupted by SIGINT');
      const error = await lockFromPool('p3', POOL.slice(0, 2), {
        timeoutS: 600,
        signal: interrupt.signal,
        // The interrupt comes while the job waits (its waiting flocks started), as a Ctrl-C would.
        onWait: () => void setTimeout(() => interrupt.abort(reason), 300),
      }).catch((e: unknown) => e);
      expect(error).toBe(reason);
      expect(flocksOfThisTest()).toEqual([]);
    } finally {
      for (const h of held) await release(h.child);
    }
  }, 60_000);
});
