/**
 * Long-running children of the harness (dnsmasq, QEMU, the namespace's file
 * server). Each runs in its own process group, so a Ctrl-C reaches only the
 * harness, which then stops them in order; each is stopped by its pid.
 *
 * Every wait for a process is bounded. A process can end while another it
 * started outside its group (setsid) still holds its stdout or stderr; no
 * signal to the group reaches that one. Once the process has ended (or
 * KILL_WAIT_MS after SIGKILL), its pipes get PIPE_GRACE_MS to close, then
 * the harness lets go of them and says so (`outputHeld`), rather than wait
 * for them forever.
 */
import { createInterface } from 'node:readline';
import { execa, execaSync, type ResultPromise } from 'execa';
import { Deadline, sleep, TimeoutError } from './deadline.js';

export type ChildExit = {
  exitCode: number | undefined;
  signal: string | undefined;
  /** Set when a process outside the child's group still held its pipes and the harness let go of them. */
  outputHeld?: boolean;
};

/** How long the pipes of a process that has ended may stay open before the harness lets go of them. */
const PIPE_GRACE_MS = 2000;
/** How long a process may take to end after SIGKILL (not at all in uninterruptible sleep). */
const KILL_WAIT_MS = 3000;

export type ChildOptions = {
  /** Run the program inside this network namespace (`ip netns exec`). */
  netns?: string;
  cwd?: string;
  env?: Record<string, string>;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Raw stdout bytes as they come (instead of lines), for a console's byte stream. */
  onStdoutData?: (chunk: Buffer) => void;
  /** Raw stderr bytes as they come (instead of lines). */
  onStderrData?: (chunk: Buffer) => void;
  /** 'pipe' keeps the child's stdin open for writes (subprocess.stdin); default 'ignore'. */
  stdin?: 'pipe' | 'ignore';
  /** Extra file descriptors, e.g. 'ipc'. */
  ipc?: boolean;
};

export class Child {
  readonly exited: Promise<ChildExit>;
  private exitInfo: ChildExit | undefined;
  /** The process itself has ended (its pipes may still be open). */
  private readonly ended: Promise<unknown>;
  private outputHeld = false;

  constructor(
    readonly name: string,
    readonly subprocess: ResultPromise,
  ) {
    const info = (exit: { exitCode?: number; signal?: string }): ChildExit => ({
      exitCode: exit.exitCode,
      signal: exit.signal,
      ...(this.outputHeld ? { outputHeld: true } : {}),
    });
    this.exited = subprocess.then(
      (result) => (this.exitInfo = info(result)),
      (error: { exitCode?: number; signal?: string }) => (this.exitInfo = info(error)),
    );
    this.ended = processEnded(subprocess);
  }

  get pid(): number {
    if (this.subprocess.pid === undefined) throw new Error(`${this.name} has no pid: it failed to start`);
    return this.subprocess.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get exit(): ChildExit | undefined {
    return this.exitInfo;
  }

  /** SIGTERM to the child's process group, then SIGKILL after `graceMs`; every wait bounded (see above). */
  async stop(graceMs = 3000): Promise<ChildExit> {
    if (!this.running) return this.exitInfo!;
    const what = `${this.name} (pid ${this.pid}) to exit`;
    signalGroup(this.pid, 'SIGTERM');
    if (!(await within(graceMs, this.ended, what))) {
      signalGroup(this.pid, 'SIGKILL');
      await within(KILL_WAIT_MS, this.ended, what);
    }
    if (await within(PIPE_GRACE_MS, this.exited, what)) return this.exitInfo!;
    this.outputHeld = true;
    releasePipes(this.subprocess);
    if (await within(1000, this.exited, what)) return this.exitInfo!;
    return { exitCode: undefined, signal: 'SIGKILL', outputHeld: true };
  }
}

/** Resolves once the process has ended ('exit'), or execa has given up on it, whether or not its pipes have closed. */
function processEnded(subprocess: ResultPromise): Promise<unknown> {
  const exit = new Promise<void>((resolve) => subprocess.once('exit', () => resolve()));
  return Promise.race([exit, subprocess.then(noop, noop)]);
}

/** Whether `promise` settles within `ms` (its own rejection counts as settled). */
async function within(ms: number, promise: Promise<unknown>, what: string): Promise<boolean> {
  try {
    await Deadline.in(ms, what).race(promise.then(noop, noop));
    return true;
  } catch (error) {
    if (error instanceof TimeoutError) return false;
    throw error;
  }
}

/** Lets go of a process's pipes that another process still holds open: execa's result settles with what was read. */
function releasePipes(subprocess: ResultPromise): void {
  for (const stream of [subprocess.stdin, subprocess.stdout, subprocess.stderr]) stream?.destroy();
}

function noop(): void {}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function startChild(name: string, file: string, args: readonly string[], options: ChildOptions = {}): Child {
  const [program, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, file, ...args]] : [file, [...args]];
  const subprocess = execa(program, argv, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    cleanup: true,
    reject: false,
    buffer: false,
    stdin: options.stdin ?? 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    ipc: options.ipc ?? false,
    serialization: 'json',
  });
  const child = new Child(name, subprocess);
  const onStdoutData = options.onStdoutData;
  if (subprocess.stdout && onStdoutData) subprocess.stdout.on('data', (chunk: Buffer) => onStdoutData(chunk));
  else if (subprocess.stdout) forwardLines(subprocess.stdout, options.onStdoutLine);
  const onStderrData = options.onStderrData;
  if (subprocess.stderr && onStderrData) subprocess.stderr.on('data', (chunk: Buffer) => onStderrData(chunk));
  else if (subprocess.stderr) forwardLines(subprocess.stderr, options.onStderrLine);
  return child;
}

function forwardLines(stream: NodeJS.ReadableStream, onLine?: (line: string) => void): void {
  if (!onLine) {
    stream.resume();
    return;
  }
  createInterface({ input: stream, crlfDelay: Infinity })
    .on('line', onLine)
    .on('error', () => {});
}

/** Runs a short command to completion; throws with its stderr when it fails. */
export async function run(
  file: string,
  args: readonly string[],
  options: { input?: string; netns?: string; timeoutMs?: number } = {},
): Promise<string> {
  const [program, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, file, ...args]] : [file, [...args]];
  const timeoutMs = options.timeoutMs ?? 30_000;
  // execa's time-out sends SIGTERM, then SIGKILL 5 s later (forceKillAfterDelay); then the pipes get their grace.
  const subprocess = execa(program, argv, { input: options.input, reject: false, timeout: timeoutMs });
  if (!(await within(timeoutMs + 5000 + PIPE_GRACE_MS, subprocess, `${program} to end`))) {
    releasePipes(subprocess);
    if (!(await within(1000, subprocess, `${program} to end`)))
      throw new Error(`${program} ${argv.join(' ')} did not end (pid ${subprocess.pid}), even after SIGKILL`);
  }
  const result = await subprocess;
  if (result.exitCode !== 0 || result.failed) {
    const detail = (result.stderr || result.stdout || result.shortMessage || '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    throw new Error(`${program} ${argv.join(' ')} failed (exit ${result.exitCode ?? result.signal}): ${detail}`);
  }
  return result.stdout;
}

/**
 * Runs one short command (ipmitool, a lab's shell command) to its end or to a
 * deadline, whichever comes first. The command runs in its own process group,
 * so a time-out ends it and everything it started, by its pid. Extra
 * environment (a BMC password) goes to the child's environment only, never
 * onto its command line.
 */
export type CommandOutcome = {
  /** null when the command was stopped at its deadline or by a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** It ended, but a process it left outside its group held its output, which was let go of (see above). */
  outputHeld: boolean;
  durationMs: number;
};

export type BoundedOptions = {
  deadline: Deadline;
  /** Added to the inherited environment of the child only. */
  env?: Record<string, string>;
  /** Run through `sh -c` (for lab commands written as one line). */
  shell?: boolean;
  cwd?: string;
  /** An open file of the harness the command gets as its fd 3 (flock(1) locks it: core/file-lock.ts). */
  fd3?: number;
  /** Ends the command early (its process group killed), rejecting with the signal's reason. */
  signal?: AbortSignal;
};

export async function runBounded(
  file: string,
  args: readonly string[],
  options: BoundedOptions,
): Promise<CommandOutcome> {
  const started = performance.now();
  const [program, argv] = options.shell ? ['/bin/sh', ['-c', file, ...args]] : [file, [...args]];
  const subprocess = execa(program, argv, {
    env: options.env,
    cwd: options.cwd,
    detached: true,
    cleanup: true,
    reject: false,
    stdio: stdioWith(options.fd3),
    stripFinalNewline: true,
  });
  let timedOut = false;
  const ended = processEnded(subprocess);
  try {
    await options.deadline.race(ended, options.signal);
  } catch (error) {
    // At its deadline, or stopped: the command and everything it started end, by its process group.
    if (subprocess.pid !== undefined) signalGroup(subprocess.pid, 'SIGKILL');
    await within(KILL_WAIT_MS, ended, `${program} (pid ${subprocess.pid}) to end after SIGKILL`);
    if (!(error instanceof TimeoutError)) throw error;
    timedOut = true;
  }
  let outputHeld = false;
  if (!(await within(PIPE_GRACE_MS, subprocess, `the output of ${program} to close`))) {
    outputHeld = true;
    releasePipes(subprocess);
  }
  const result = (await within(1000, subprocess, `${program} to settle`)) ? await subprocess : undefined;
  return {
    exitCode: timedOut ? null : (result?.exitCode ?? null),
    stdout: String(result?.stdout ?? ''),
    stderr: String(result?.stderr ?? ''),
    timedOut,
    outputHeld,
    durationMs: performance.now() - started,
  };
}

/**
 * Runs a command that ends at once (flock --nonblock) and returns its exit
 * code, or undefined when it could not run; `fd3` is passed as its fd 3.
 * Synchronous, for checks made while listing (core/job-record.ts).
 */
export function runAtOnce(file: string, args: readonly string[], options: { fd3?: number } = {}): number | undefined {
  const result = execaSync(file, [...args], {
    reject: false,
    timeout: 10_000,
    stdio: stdioWith(options.fd3),
  });
  return result.failed && result.exitCode === undefined ? undefined : result.exitCode;
}

/**
 * No stdin, piped output, and `fd3` (when given) as the child's fd 3. Node
 * passes a descriptor number on as it is; execa's types list only a few numbers.
 */
function stdioWith(fd3: number | undefined): ['ignore', 'pipe', 'pipe'] {
  const stdio = fd3 === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', fd3];
  return stdio as ['ignore', 'pipe', 'pipe'];
}

/** The last `lines` non-empty lines of a command's output, joined for a one-line message. */
export function tailOf(text: string, lines = 3): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}

/**
 * Starts a program on this process's own terminal (stdin, stdout and stderr
 * shared, not piped), in its own process group; `kill` signals it by pid.
 */
export function startForeground(
  file: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
): { kill(signal: NodeJS.Signals): void; exited: Promise<ChildExit> } {
  const subprocess = execa(file, [...args], { env, stdio: 'inherit', detached: true, reject: false });
  return {
    kill: (signal) => subprocess.kill(signal),
    exited: subprocess.then((result) => ({ exitCode: result.exitCode, signal: result.signal })),
  };
}

export { sleep };
