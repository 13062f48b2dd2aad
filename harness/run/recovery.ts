/**
 * What a job killed outright (SIGKILL, a power cut of the agent) leaves on
 * the host, and its removal. Such a job has no teardown; it can leave its
 * network namespace (hil-<job id>), dnsmasq and QEMU (own process groups, so
 * they outlive the harness), the file server, the NFS server of an NFS root
 * (ganesha and rpcbind, both in the job's namespace; the mounts of their own
 * mount namespace go with them), its work directory <runtime root>/<job id>/
 * with job.json (the harness pid) and pid files, and its copies of the
 * user's files and of the board's root file system (<cache>/jobs/<job id>/).
 *
 * A job is stale when its harness no longer holds its job lock
 * (core/job-record.ts): dead, whether reaped or not, whatever its pid now is.
 * Its processes are found by its pid files and by `ip netns pids`; a pid is
 * only signalled when it is inside the job's namespace or its command line
 * names the job id, so a pid reused by an unrelated process is never hit.
 *
 * Reference: ip-netns(8) (pids, identify, delete), proc(5) (/proc/<pid>/cmdline).
 */
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Deadline, sleep } from '../core/deadline.js';
import { run } from '../core/process.js';
import { listNamespaces, NETNS_PREFIX } from '../pxe/netns.js';
import { isProcessAlive, staleJobs } from '../core/job-record.js';
import { jobFilesDir } from '../core/paths.js';

export type StaleJob = {
  jobId: string;
  dir: string;
  target?: string;
  harnessPid?: number;
  runId?: string;
  netns: string;
};

export type RecoveryReport = {
  jobId: string;
  target?: string;
  killed: number[];
  namespaceRemoved: boolean;
  dirRemoved: boolean;
};

const PID_FILES = ['qemu.pid', 'dnsmasq.pid', 'nfs/ganesha.pid'];

/** Jobs under the runtime root whose harness is gone; only those of `target` when given. */
export function findStaleJobs(options: { target?: string; root?: string } = {}): StaleJob[] {
  return staleJobs(options).map(({ dir, record }) => ({
    jobId: record.jobId,
    dir,
    target: record.target,
    harnessPid: record.pid,
    runId: record.runId,
    netns: `${NETNS_PREFIX}${record.jobId}`,
  }));
}

/** Pids of the processes in a namespace (empty when it does not exist). */
export async function namespacePids(netns: string): Promise<number[]> {
  if (!(await listNamespaces()).includes(netns)) return [];
  const out = await run('ip', ['netns', 'pids', netns]);
  return out
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The job's processes: those in its namespace, and those of its pid files whose command line names the job. */
export async function jobProcesses(job: StaleJob): Promise<number[]> {
  const pids = new Set(await namespacePids(job.netns));
  for (const file of PID_FILES) {
    const path = join(job.dir, file);
    if (!existsSync(path)) continue;
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1 && isProcessAlive(pid) && commandLine(pid).includes(job.jobId)) pids.add(pid);
  }
  pids.delete(process.pid);
  return [...pids];
}

/** Stops the job's processes (SIGTERM, then SIGKILL after `graceMs`), deletes its namespace and directory. */
export async function cleanupJob(job: StaleJob, graceMs = 3000): Promise<RecoveryReport> {
  const pids = await jobProcesses(job);
  for (const pid of pids) signal(pid, 'SIGTERM');
  try {
    await Deadline.in(graceMs, `the processes of stale job ${job.jobId} to exit`).poll(
      () => (pids.every((pid) => !isProcessAlive(pid)) ? true : undefined),
      100,
    );
  } catch {
    for (const pid of pids) signal(pid, 'SIGKILL');
    await sleep(200);
  }
  let namespaceRemoved = false;
  if ((await listNamespaces()).includes(job.netns)) {
    await run('ip', ['netns', 'del', job.netns]);
    namespaceRemoved = true;
  }
  await rm(job.dir, { recursive: true, force: true });
  await rm(jobFilesDir(job.jobId), { recursive: true, force: true });
  return { jobId: job.jobId, target: job.target, killed: pids, namespaceRemoved, dirRemoved: true };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Finds and removes stale jobs (of one target, or all); returns what was done for each. */
export async function recoverStaleJobs(options: { target?: string; root?: string } = {}): Promise<RecoveryReport[]> {
  const reports: RecoveryReport[] = [];
  for (const job of findStaleJobs(options)) reports.push(await cleanupJob(job));
  return reports;
}

export function describeRecovery(report: RecoveryReport): string {
  const killed = report.killed.length > 0 ? `stopped pids ${report.killed.join(', ')}` : 'no processes left';
  return `removed stale job ${report.jobId}${report.target ? ` of ${report.target}` : ''}: ${killed}${report.namespaceRemoved ? `, deleted namespace ${NETNS_PREFIX}${report.jobId}` : ''}, removed its directory and its files`;
}
