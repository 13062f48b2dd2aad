/**
 * Crash recovery: a job killed with SIGKILL mid-boot leaves its namespace,
 * dnsmasq, QEMU and work directory; the next job of the same target removes
 * them before it starts and passes; `hil doctor --cleanup` removes a stale
 * job of any target. Each test has its own runtime and lock directories, so
 * jobs of other runs on the host are never touched.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { writeJobRecord } from '../../harness/core/job-record.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hil, jobIdOf, NO_RESIDUE, residueOf, resultsDirOf, resultsRoot, startHil } from '../support/hil.js';

let results: string;
let state: string;
let env: Record<string, string>;

beforeAll(async () => {
  results = resultsRoot();
  state = mkdtempSync(join(tmpdir(), 'hil-recovery-'));
  env = { PXE_HIL_RUNTIME_DIR: join(state, 'run'), PXE_HIL_LOCK_DIR: join(state, 'lock') };
  const prepared = await hil(['images', '--image', 'busybox']);
  expect(prepared.exitCode, prepared.stderr).toBe(0);
}, 600_000);

afterAll(() => {
  rmSync(results, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

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

  it('hil doctor --cleanup removes a stale job of any target, and leaves live jobs alone', async () => {
    const staleId = `d0c${process.pid.toString(16).padStart(5, '0').slice(-5)}`;
    const liveId = `11e${process.pid.toString(16).padStart(5, '0').slice(-5)}`;
    const netns = `hil-${staleId}`;
    // A dead harness pid: a child that has exited.
    const dead = execa('true');
    const deadPid = dead.pid;
    await dead;
    mkdirSync(join(env.PXE_HIL_RUNTIME_DIR!, staleId), { recursive: true });
    await writeJobRecord(join(env.PXE_HIL_RUNTIME_DIR!, staleId), {
      jobId: staleId,
      target: 'some-board',
      image: 'busybox',
      runId: 'stale',
      pid: deadPid!,
    });
    mkdirSync(join(env.PXE_HIL_RUNTIME_DIR!, liveId), { recursive: true });
    await writeJobRecord(join(env.PXE_HIL_RUNTIME_DIR!, liveId), {
      jobId: liveId,
      target: 'some-board',
      image: 'busybox',
      runId: 'live',
      pid: process.pid,
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
      orphan.kill('SIGKILL');
      await execa('ip', ['netns', 'del', netns], { reject: false });
      rmSync(join(env.PXE_HIL_RUNTIME_DIR!, liveId), { recursive: true, force: true });
    }
  }, 60_000);
});
