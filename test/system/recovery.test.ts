/**
 * Crash recovery: a job killed with SIGKILL mid-boot leaves its namespace,
 * dnsmasq, QEMU and work directory; the next job of the same target removes
 * them before it starts and passes; `hil doctor --cleanup` removes a stale
 * job of any target. Each test has its own runtime and lock directories, so
 * jobs of other runs on the host are never touched. A job is alive while its
 * harness holds its job lock (a kernel lock on job.json's neighbour
 * job.lock), not while its pid exists: a killed harness that nobody has
 * reaped yet (a zombie) is dead, and so is one whose pid was reused.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { Deadline } from '../../harness/core/deadline.js';
import { holdJobLock, writeJobRecord } from '../../harness/core/job-record.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { hil, jobIdOf, NO_RESIDUE, REPO, residueOf, resultsDirOf, startHil } from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let results: string;
let state: string;
let env: Record<string, string>;

beforeAll(async () => {
  results = files.results();
  state = files.tempDir('hil-recovery-');
  env = { PXE_HIL_RUNTIME_DIR: join(state, 'run'), PXE_HIL_LOCK_DIR: join(state, 'lock') };
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

/** A process's state letter from /proc/<pid>/stat ('Z' for a zombie), or '' when there is no such process. */
function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] ?? '';
  } catch {
    return '';
  }
}

const jobDirs = () => (existsSync(env.PXE_HIL_RUNTIME_DIR!) ? readdirSync(env.PXE_HIL_RUNTIME_DIR!) : []);

describe('crash recovery', () => {
  it('cleans up after a job killed with SIGKILL mid-boot, before the next job of the target', async () => {
    let killed = false;
    const child = startHil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results], {
      env,
      onLine: (line, proc) => {
        if (!killed && /milestone\s+kernel fetched/.test(line)) {
          killed = true;
          proc.kill('SIGKILL');
        }
      },
    });
    const harnessPid = child.pid;
    const crashed = await child;
    expect(killed).toBe(true);
    expect(crashed.signal).toBe('SIGKILL');

    // The residue: the work directory with its state, the namespace, QEMU and dnsmasq.
    const dirs = jobDirs();
    expect(dirs).toHaveLength(1);
    const staleId = dirs[0]!;
    const dir = join(env.PXE_HIL_RUNTIME_DIR!, staleId);
    expect(JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8'))).toMatchObject({
      jobId: staleId,
      target: 'qemu-x86',
      pid: harnessPid,
      netns: `hil-${staleId}`,
    });
    expect(existsSync(join(dir, 'qemu.pid')) && existsSync(join(dir, 'dnsmasq.pid'))).toBe(true);
    const residue = residueOf(staleId);
    expect(residue.namespaces).toEqual([`hil-${staleId}`]);
    expect(residue.processes.some((p) => p.includes('qemu-system-x86_64'))).toBe(true);
    expect(residue.processes.some((p) => p.includes('dnsmasq'))).toBe(true);

    const next = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results], { env });
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toMatch(
      new RegExp(
        `warning\\s+removed stale job ${staleId} of qemu-x86: stopped pids [0-9, ]+, deleted namespace hil-${staleId}, removed its directory`,
      ),
    );
    expect(residueOf(staleId)).toEqual(NO_RESIDUE);
    expect(residueOf(jobIdOf(resultsDirOf(next.stdout)))).toEqual(NO_RESIDUE);
    expect(jobDirs()).toEqual([]);
  }, 400_000);

  it('recovers a job whose process group was killed mid-boot and not yet reaped, in the next run started at once', async () => {
    // A parent that does not reap the harness until told to (as a busy CI agent, or a container whose
    // init reaps nothing): the killed harness stays a zombie, and its pid exists all that while.
    const parent = execa(
      'perl',
      [
        '-e',
        'my $pid = fork(); if ($pid == 0) { setpgrp(0, 0); exec(@ARGV) or die "exec: $!"; } ' +
          'print STDERR "harness $pid\\n"; <STDIN>; waitpid($pid, 0);',
        process.execPath,
        '--import',
        'tsx',
        'harness/cli/main.ts',
        ...['--target', 'qemu-x86', '--image', 'busybox', '--results', results],
      ],
      { cwd: REPO, env, stdin: 'pipe', reject: false },
    );
    try {
      const harnessPid = await new Promise<number>((resolve) =>
        parent.stderr?.on('data', (chunk: Buffer) => {
          const pid = /harness (\d+)/.exec(chunk.toString())?.[1];
          if (pid) resolve(Number(pid));
        }),
      );
      await new Promise<void>((resolve) => {
        let buffer = '';
        parent.stdout?.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          if (/milestone\s+kernel fetched/.test(buffer)) resolve();
        });
      });
      process.kill(-harnessPid, 'SIGKILL');
      // Dead, not reaped: a zombie, whose pid still answers kill(pid, 0).
      await Deadline.in(10_000, 'the harness to die').poll(() => (processState(harnessPid) === 'Z' ? true : undefined));
      const staleId = jobDirs()[0]!;
      expect(jobDirs()).toEqual([staleId]);
      expect(residueOf(staleId).namespaces).toEqual([`hil-${staleId}`]);
      const left = ['qemu.pid', 'dnsmasq.pid'].map((file) =>
        Number(readFileSync(join(env.PXE_HIL_RUNTIME_DIR!, staleId, file), 'utf8').trim()),
      );

      const next = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results], { env });
      expect(processState(harnessPid)).toBe('Z');
      expect(next.exitCode, next.stdout + next.stderr).toBe(0);
      const removed = new RegExp(
        `warning\\s+removed stale job ${staleId} of qemu-x86: stopped pids ([0-9, ]+), deleted namespace hil-${staleId}, removed its directory`,
      ).exec(next.stdout);
      expect(removed, next.stdout).not.toBeNull();
      // Its QEMU and dnsmasq among them (the file server may have ended with its harness already).
      expect(removed![1]!.split(', ').map(Number)).toEqual(expect.arrayContaining(left));
      expect(residueOf(staleId)).toEqual(NO_RESIDUE);
      expect(jobDirs()).toEqual([]);
    } finally {
      parent.stdin?.end('reap\n');
      await parent;
      // Whatever the run above did not remove (the job of a harness that was taken for alive).
      await hil(['doctor', '--cleanup'], { env });
    }
  }, 400_000);

  it('hil doctor --cleanup removes a stale job of any target, and leaves live jobs alone, by their locks', async () => {
    const staleId = `d0c${process.pid.toString(16).padStart(5, '0').slice(-5)}`;
    const liveId = `11e${process.pid.toString(16).padStart(5, '0').slice(-5)}`;
    const netns = `hil-${staleId}`;
    // A dead pid: a child that has exited.
    const dead = execa('true');
    const deadPid = dead.pid;
    await dead;
    // The stale job's lock is free, though its pid runs (reused: it is this test's); the live job holds its
    // lock (here, this test), though its pid is dead. The lock decides.
    const staleDir = join(env.PXE_HIL_RUNTIME_DIR!, staleId);
    mkdirSync(staleDir, { recursive: true });
    (await holdJobLock(staleDir)).release();
    await writeJobRecord(staleDir, {
      jobId: staleId,
      target: 'some-board',
      image: 'busybox',
      runId: 'stale',
      pid: process.pid,
    });
    const liveDir = join(env.PXE_HIL_RUNTIME_DIR!, liveId);
    mkdirSync(liveDir, { recursive: true });
    const liveLock = await holdJobLock(liveDir);
    await writeJobRecord(liveDir, {
      jobId: liveId,
      target: 'some-board',
      image: 'busybox',
      runId: 'live',
      pid: deadPid!,
    });
    await execa('ip', ['netns', 'add', netns]);
    // A process of the stale job inside its namespace (as the file server would be).
    const orphan = execa('ip', ['netns', 'exec', netns, 'sleep', '600'], { reject: false, detached: true });
    try {
      await execa('sh', [
        '-c',
        `for i in $(seq 50); do [ -n "$(ip netns pids ${netns})" ] && exit 0; sleep 0.1; done; exit 1`,
      ]);
      const doctor = await hil(['doctor', '--cleanup'], { env });
      expect(doctor.stdout).toContain(
        `cleanup: removed stale job ${staleId} of some-board: stopped pids ${orphan.pid}, deleted namespace ${netns}, removed its directory`,
      );
      expect(doctor.stdout).toMatch(/^ok {3}dnsmasq {14}\d+\.\d+/m);
      expect(doctor.stdout).toMatch(
        /^ok {3}OVMF {17}\/usr\/share\/OVMF\/OVMF_CODE_4M\.fd \(UEFI QEMU boards, optional\)$/m,
      );
      const ended = await orphan;
      expect(ended.signal).toBe('SIGTERM');
      expect(residueOf(staleId)).toEqual(NO_RESIDUE);
      expect(jobDirs()).toEqual([liveId]);
    } finally {
      liveLock.release();
      orphan.kill('SIGKILL');
      await execa('ip', ['netns', 'del', netns], { reject: false });
      rmSync(join(env.PXE_HIL_RUNTIME_DIR!, liveId), { recursive: true, force: true });
    }
  }, 60_000);
});
