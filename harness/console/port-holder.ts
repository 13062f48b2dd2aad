/**
 * Who holds a serial port: the process holding the lock on the device
 * (/proc/locks), else the processes with the device open (/proc/<pid>/fd),
 * and, when one of them is a job of this harness, which job (its record,
 * core/job-record.ts). Used to make "port is busy" errors say who to ask.
 * Only the pid and the program's name are shown, never a command line, which
 * could carry a secret.
 *
 * Reference: proc(5) (/proc/locks, /proc/<pid>/fd, /proc/<pid>/comm), flock(2).
 */
import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { type JobRecord, liveJobs } from '../core/job-record.js';

export type PortHolder = { pid: number; program: string; job?: JobRecord };

export async function findPortHolders(devicePath: string): Promise<PortHolder[]> {
  const jobs = liveJobs().map(({ record }) => record);
  const pids = (await lockingPids(devicePath)) ?? (await openingPids(devicePath));
  const holders: PortHolder[] = [];
  for (const pid of pids) {
    const program = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
    holders.push({ pid, program, job: jobs.find((job) => job.pid === pid) });
  }
  // A job that names the port but whose process could not be inspected still counts.
  for (const job of jobs) {
    if (job.consoleEndpoint === `serial:${devicePath}` && !holders.some((h) => h.pid === job.pid))
      holders.push({ pid: job.pid, program: '?', job });
  }
  return holders;
}

/** The pids holding a lock on the device, per /proc/locks; undefined when no lock is listed. */
async function lockingPids(devicePath: string): Promise<number[] | undefined> {
  const info = await stat(devicePath).catch(() => undefined);
  const locks = await readFile('/proc/locks', 'utf8').catch(() => '');
  if (!info || !locks) return undefined;
  const major = Number((BigInt(info.dev) >> 8n) & 0xfffn);
  const minor = Number((BigInt(info.dev) & 0xffn) | ((BigInt(info.dev) >> 12n) & 0xfff00n));
  const pids = new Set<number>();
  for (const line of locks.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 19362 00:19:4 0 EOF"; waiters ("1: -> FLOCK ...") do not hold it.
    const m = /^\d+:\s+(?:FLOCK|POSIX|OFDLCK)\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    if (Number(m[4]) === info.ino && parseInt(m[2]!, 16) === major && parseInt(m[3]!, 16) === minor && Number(m[1]) > 0)
      pids.add(Number(m[1]));
  }
  return pids.size > 0 ? [...pids] : undefined;
}

/** The pids with the device open, from /proc/<pid>/fd. */
async function openingPids(devicePath: string): Promise<number[]> {
  const device = await realpath(devicePath).catch(() => devicePath);
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if ((await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '')) === device) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

export function describeHolders(holders: readonly PortHolder[]): string {
  if (holders.length === 0)
    return 'another process (not found in /proc: it may run as another user or in another container)';
  return holders
    .map((h) => {
      const who = h.pid === process.pid ? `this process (pid ${h.pid})` : `pid ${h.pid} (${h.program})`;
      if (!h.job) return who;
      return `${who}, job ${h.job.jobId} on target ${h.job.target}${h.job.build ? `, build ${h.job.build}` : ''}`;
    })
    .join('; ');
}
