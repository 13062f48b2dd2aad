/**
 * The job record: `<runtime root>/<job id>/job.json`, what a running job
 * tells the rest of the host about itself (its harness pid, its namespace,
 * console and power sockets). The job's own harness is its only writer; every
 * reader (recovery, `hil console`, `--no-boot` suites, the port-busy
 * message) goes through this module, which parses it with its schema. A
 * record is replaced whole (written to a temporary file, then renamed), so a
 * reader never sees half of one.
 *
 * Whether a job is alive is its lock's answer, not its pid's: the harness
 * holds a kernel lock on `job.lock` in the job's directory (core/file-lock.ts)
 * from before it writes the record to its end, and the kernel drops it the
 * moment the harness dies. A pid is no proof: a killed harness its parent has
 * not reaped yet (a zombie) still has one, and a pid can be reused.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LabFault } from './errors.js';
import { FileLock, isLockHeld } from './file-lock.js';
import { runtimeRoot } from './paths.js';
import { checkPrivateDir, RUNTIME_DIR_ROLE } from './private-dir.js';

export const JOB_RECORD_FILE = 'job.json';
export const JOB_LOCK_FILE = 'job.lock';

/** A job's directory name: its id, eight hex digits (paths.ts, newJobId). */
const JOB_DIR_NAME = /^[0-9a-f]{8}$/;

const wiringSchema = z.object({
  netns: z.string(),
  tap: z.string().optional(),
  mac: z.string(),
  /** The board's address ('' where the lab's DHCP server chooses it). */
  boardIp: z.string(),
  serverIp: z.string(),
  consoleSocket: z.string(),
  /** Where the console is, for people: 'serial:/dev/ttyUSB0', 'tcp:host:port', a QEMU socket. */
  consoleEndpoint: z.string(),
  /** The job's console, shared (harness/console/console-share.ts). */
  consoleShare: z.string(),
  /** The job's power control socket (harness/run/power-control.ts). */
  powerControl: z.string(),
});

export const jobRecordSchema = z.object({
  jobId: z.string().regex(JOB_DIR_NAME),
  target: z.string(),
  image: z.string(),
  /** The image file, so that another run (`--no-boot`) loads the same image. */
  imageFile: z.string().optional(),
  /** The harness process that owns the job. */
  pid: z.number().int().positive(),
  runId: z.string(),
  /** Jenkins' BUILD_TAG, for "who holds this board" messages. */
  build: z.string().optional(),
  /** The SSH host key ("type base64") the job put on its board, pinned by `--no-boot` suite runs. */
  sshHostKey: z.string().optional(),
  /** The job's wiring: set once its PXE server is up and its console open. */
  ...wiringSchema.partial().shape,
});

export type JobRecord = z.infer<typeof jobRecordSchema>;
export type JobWiring = z.infer<typeof wiringSchema>;

/** The record's wiring, when the job has got that far. */
export function wiringOf(record: JobRecord): JobWiring | undefined {
  const parsed = wiringSchema.safeParse(record);
  return parsed.success ? parsed.data : undefined;
}
export type ListedJob = { dir: string; record: JobRecord };

export function jobRecordPath(dir: string): string {
  return join(dir, JOB_RECORD_FILE);
}

/**
 * Takes the job's lock in its (new, private) directory; the job's harness
 * calls this before it writes the record, and holds the lock to its end.
 */
export async function holdJobLock(dir: string): Promise<{ release(): void }> {
  const lock = FileLock.open(join(dir, JOB_LOCK_FILE), 'job lock file');
  if (await lock.take(0)) return lock;
  lock.release();
  throw new LabFault(`the job lock ${lock.path} is held by another process; fix: use a new job directory`);
}

/** Writes the record whole: a reader sees the old one or the new one. Only the job's own harness calls this. */
export async function writeJobRecord(dir: string, record: JobRecord): Promise<void> {
  const checked = jobRecordSchema.parse(record);
  const temporary = join(dir, `.${JOB_RECORD_FILE}.${process.pid}`);
  await writeFile(temporary, `${JSON.stringify(checked)}\n`, { mode: 0o600 });
  await rename(temporary, jobRecordPath(dir));
}

/** The record in `dir`, or undefined when there is none or it does not parse (a job in its first milliseconds). */
export function readJobRecord(dir: string): JobRecord | undefined {
  let text: string;
  try {
    text = readFileSync(jobRecordPath(dir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = jobRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Every job directory under `root` that holds a record, alive or not; a root others could write to is refused. */
export function listJobs(root = runtimeRoot()): ListedJob[] {
  if (existsSync(root)) checkPrivateDir(root, RUNTIME_DIR_ROLE);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const jobs: ListedJob[] = [];
  for (const name of names.filter((entry) => JOB_DIR_NAME.test(entry)).sort()) {
    const dir = join(root, name);
    const record = readJobRecord(dir);
    if (record && record.jobId === name) jobs.push({ dir, record });
  }
  return jobs;
}

/**
 * Whether a process with this pid exists. EPERM (it exists, owned by another
 * user) counts as alive: the one answer every reader of job records uses.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the job's harness still runs: whether its job lock is held. A
 * record without a lock file (written by an older version) is judged by its pid.
 */
export function isJobAlive(job: ListedJob): boolean {
  return isLockHeld(join(job.dir, JOB_LOCK_FILE)) ?? isProcessAlive(job.record.pid);
}

/** The jobs whose harness still runs; only those of `target` when given. */
export function liveJobs(options: { target?: string; root?: string } = {}): ListedJob[] {
  return listJobs(options.root).filter(
    (job) => (options.target === undefined || job.record.target === options.target) && isJobAlive(job),
  );
}

/** The jobs whose harness is gone (killed outright); only those of `target` when given. */
export function staleJobs(options: { target?: string; root?: string } = {}): ListedJob[] {
  return listJobs(options.root).filter(
    (job) => (options.target === undefined || job.record.target === options.target) && !isJobAlive(job),
  );
}
