/**
 * One job as a user starts it: `npm run hil -- --target T --image I ...` in a
 * checkout of pxe-hil (npm, the set-up check, the command line), in its own
 * process group so that an interrupt reaches npm and the harness as a Ctrl-C
 * on a terminal would. Its times come from its event log (each event's wall
 * clock `at`, and `t` from the run's start); its peak memory from /proc while
 * it runs: the harness (the node process(es) running cli/main) and its file
 * server, found among npm's descendants.
 *
 * Reference: proc(5) (/proc/<pid>/task/<tid>/children, /proc/<pid>/cmdline, /proc/<pid>/status PPid, VmRSS, VmHWM).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Target } from '../harness/config/target.js';
import { Deadline } from '../harness/core/deadline.js';
import type { StepEvent } from '../harness/core/events.js';
import { signalGroup, startChild } from '../harness/core/process.js';
import { interrupted, memoryOf } from './support.js';

export type CliJobOptions = {
  /** The checkout whose `npm run hil` runs. */
  repo: string;
  target: string;
  targetsDir: string;
  image: string;
  resultsRoot: string;
  /** Interrupt the job (SIGINT) once its PXE server is ready: for measuring the start alone. */
  stopAtPxeReady?: boolean;
  timeoutMs: number;
};

export type CliJob = {
  exitCode: number | undefined;
  /** Wall clock (ms since the epoch) just before the command started. */
  startedAt: number;
  events: StepEvent[];
  /** Wall clock when the harness said where its results are: its last line, after the teardown and the reports. */
  endedAt: number | undefined;
  /** Peak RSS in MiB; 0 when the process was not seen. */
  memory: { harnessMiB: number; fileServerMiB: number };
  output: string;
};

/** Writes a target as a target file of `dir` (plain data, as a lab's own file may be). */
export function writeTargetFile(dir: string, target: Target): void {
  writeFileSync(join(dir, `${target.name}.ts`), `export default ${JSON.stringify(target, null, 2)};\n`);
}

/** A process among npm's descendants: the harness (cli/main) or a file server, with its peak RSS so far. */
type Seen = { role: 'harness' | 'file-server' | 'other'; parent: number; peakMiB: number };

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** What the process is; undefined once it has exited (a zombie's command line is empty). */
function roleOf(pid: number): Seen['role'] | undefined {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
  if (argv[0] === '') return undefined;
  if (argv.some((a) => a.includes('file-server-process'))) return 'file-server';
  return argv.some((a) => /cli\/main\.[jt]s$/.test(a)) && /(^|\/)node$/.test(argv[0] ?? '') ? 'harness' : 'other';
}

function parentOf(pid: number): number {
  try {
    return Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Follows npm's process tree every `intervalMs`, keeping each process's peak RSS. */
class TreeSampler {
  private readonly seen = new Map<number, Seen>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: number,
    intervalMs = 20,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const queue = [this.root];
    while (queue.length > 0) {
      const pid = queue.shift()!;
      const children = childrenOf(pid);
      queue.push(...children);
      // The role is read every time: a child just forked still shows its parent's command line until its exec.
      // Its peak counts from its exec (a new process image has its own VmHWM).
      const role = roleOf(pid);
      if (role === undefined) continue;
      const entry = this.seen.get(pid);
      if (!entry || entry.role !== role) this.seen.set(pid, { role, parent: parentOf(pid), peakMiB: 0 });
      const memory = memoryOf(pid);
      const seen = this.seen.get(pid)!;
      if (memory) seen.peakMiB = Math.max(seen.peakMiB, memory.rssMiB, memory.hwmMiB);
    }
  }

  stop(): CliJob['memory'] {
    clearInterval(this.timer);
    const fileServers = [...this.seen.values()].filter((s) => s.role === 'file-server');
    return {
      harnessMiB: Math.max(0, ...fileServers.map((s) => this.harnessChain(s.parent))),
      fileServerMiB: Math.max(0, ...fileServers.map((s) => s.peakMiB)),
    };
  }

  /**
   * The harness: the file server's parent (`ip netns exec` becomes the file
   * server itself), with any process above it that runs the command line too
   * (a loader's wrapper process, as `tsx` starts one), their peaks added.
   */
  private harnessChain(pid: number): number {
    let total = 0;
    for (let entry = this.seen.get(pid); entry?.role === 'harness'; entry = this.seen.get(entry.parent))
      total += entry.peakMiB;
    return total;
  }
}

export async function runCliJob(options: CliJobOptions): Promise<CliJob> {
  const args = ['--target', options.target, '--image', options.image];
  args.push('--targets-dir', options.targetsDir, '--results', options.resultsRoot);
  const output: string[] = [];
  let endedAt: number | undefined;
  const startedAt = Date.now();
  const npm = startChild('npm', 'npm', ['run', 'hil', '--', ...args], {
    cwd: options.repo,
    // The run id is a time stamp, not a CI build's tag.
    env: { BUILD_TAG: '' },
    onStdoutLine: (line) => {
      output.push(line);
      if (line.startsWith('results: ')) endedAt = Date.now();
      if (options.stopAtPxeReady && /\] pxe +ready: /.test(line)) signalGroup(npm.pid, 'SIGINT');
    },
    onStderrLine: (line) => output.push(line),
  });
  const sampler = new TreeSampler(npm.pid);
  const stopOnInterrupt = () => signalGroup(npm.pid, 'SIGINT');
  interrupted.signal.addEventListener('abort', stopOnInterrupt);
  try {
    await Deadline.in(options.timeoutMs, `npm run hil -- ${args.join(' ')}`)
      .race(npm.exited)
      .catch(async (error: Error) => {
        await npm.stop(10_000);
        throw new Error(`${error.message}; its output:\n${output.slice(-20).join('\n')}`);
      });
  } finally {
    interrupted.signal.removeEventListener('abort', stopOnInterrupt);
  }
  const memory = sampler.stop();
  const events = eventsOf(options);
  return { exitCode: npm.exit?.exitCode, startedAt, endedAt, events, memory, output: output.join('\n') };
}

/** The job's event log: <results>/<target>/<run id>/events.jsonl (one run per results root). */
function eventsOf(options: CliJobOptions): StepEvent[] {
  const dir = join(options.resultsRoot, options.target);
  const runs = readdirSync(dir);
  if (runs.length !== 1) throw new Error(`expected one run in ${dir}, found ${runs.length}`);
  return readFileSync(join(dir, runs[0]!, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as StepEvent);
}

/** The last milestone to the harness's last line (the teardown done, the reports written). */
export function teardownMs(job: CliJob): number {
  const last = job.events.filter((e) => e.type === 'milestone').at(-1);
  if (!last || job.endedAt === undefined) throw new Error('a job without milestones or without its results line');
  return job.endedAt - Date.parse(last.at);
}

/** Milliseconds from the command's start to the event's wall clock time. */
export function sinceCommand(job: CliJob, event: StepEvent): number {
  return Date.parse(event.at) - job.startedAt;
}

/** The end of the `pxe` stage: the PXE server ready. */
export function pxeReady(events: readonly StepEvent[]): StepEvent {
  const found = events.find((e) => e.type === 'stage' && e.stage === 'pxe' && e.state === 'end');
  if (!found) throw new Error('no pxe stage end event in the run');
  return found;
}

export function runStart(events: readonly StepEvent[]): StepEvent & { type: 'run-start' } {
  const found = events.find((e): e is StepEvent & { type: 'run-start' } => e.type === 'run-start');
  if (!found) throw new Error('no run-start event in the run');
  return found;
}
