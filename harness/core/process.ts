/**
 * Long-running children of the harness (dnsmasq, QEMU, the namespace's file
 * server). Each runs in its own process group, so a Ctrl-C reaches only the
 * harness, which then stops them in order; each is stopped by its pid. Short
 * commands run to their end or their deadline (`run`, `runBounded`).
 *
 * Every wait for a process is bounded. A process can end while another it
 * started outside its group (setsid) still holds its stdout or stderr; no
 * signal to the group reaches that one. Once the process has ended (or
 * KILL_WAIT_MS after SIGKILL), its pipes get PIPE_GRACE_MS to close, then
 * the harness lets go of them and says so (`outputHeld`), rather than wait
 * for them forever.
 *
 * Built on node:child_process alone (spawn, process groups by a negative
 * pid), so that a run loads no process library.
 */
import { type ChildProcess, spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
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
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Raw stdout bytes as they come (instead of lines), for a console's byte stream. */
  onStdoutData?: (chunk: Buffer) => void;
  /** Raw stderr bytes as they come (instead of lines). */
  onStderrData?: (chunk: Buffer) => void;
  /** 'pipe' keeps the child's stdin open for writes (subprocess.stdin); default 'ignore'. */
  stdin?: 'pipe' | 'ignore';
  /** An IPC channel to the child (JSON messages: subprocess.send and its 'message' events). */
  ipc?: boolean;
};

/** The process itself has ended ('exit'), or never started; its pipes may still be open. */
function processEnded(subprocess: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (subprocess.exitCode !== null || subprocess.signalCode !== null)
      resolve({ code: subprocess.exitCode, signal: subprocess.signalCode });
    subprocess.once('exit', (code, signal) => resolve({ code, signal }));
    subprocess.on('error', () => {
      if (subprocess.pid === undefined) resolve({ code: null, signal: null });
    });
  });
}

/** stdout and stderr read to their end (or let go of: releasePipes). */
function outputsClosed(subprocess: ChildProcess): Promise<unknown> {
  const closed = (stream: NodeJS.ReadableStream | null) =>
    stream && !(stream as { closed?: boolean }).closed
      ? new Promise<void>((resolve) => stream.once('close', () => resolve()))
      : Promise.resolve();
  return Promise.all([closed(subprocess.stdout), closed(subprocess.stderr)]);
}

/**
 * How a child ended, once it has and its output is read to its end: its exit
 * code, or the signal that ended it; neither when it never started. Not the
 * 'close' event: with an IPC channel the harness disconnected, Node never
 * emits it. `ended` is the caller's own wait for the process's end, if it has one.
 */
async function exitOf(
  subprocess: ChildProcess,
  ended = processEnded(subprocess),
): Promise<ChildExit & { error?: Error }> {
  let error: Error | undefined;
  subprocess.on('error', (e) => (error = e));
  const { code, signal } = await ended;
  await outputsClosed(subprocess);
  return { exitCode: code ?? undefined, signal: signal ?? undefined, ...(error ? { error } : {}) };
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

/** Lets go of a process's pipes that another process still holds open. */
function releasePipes(subprocess: ChildProcess): void {
  for (const stream of [subprocess.stdin, subprocess.stdout, subprocess.stderr]) stream?.destroy();
}

function noop(): void {}

export class Child {
  readonly exited: Promise<ChildExit>;
  private exitInfo: ChildExit | undefined;
  /** The process itself has ended (its pipes may still be open). */
  private readonly ended: ReturnType<typeof processEnded>;
  private outputHeld = false;

  constructor(
    readonly name: string,
    readonly subprocess: ChildProcess,
  ) {
    this.ended = processEnded(subprocess);
    this.exited = exitOf(subprocess, this.ended).then(({ exitCode, signal }) => {
      this.exitInfo = { exitCode, signal, ...(this.outputHeld ? { outputHeld: true } : {}) };
      return this.exitInfo;
    });
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
    if (this.subprocess.pid === undefined) return await this.exited;
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
  const subprocess = spawn(program, argv, {
    cwd: options.cwd,
    env: withEnv(options.env),
    detached: true,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
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

/** The inherited environment with `extra` added. */
function withEnv(extra: Record<string, string | undefined> | undefined): NodeJS.ProcessEnv {
  return extra ? { ...process.env, ...extra } : process.env;
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

/** No stdin unless input is given, piped output, and `fd3` (when given) as the child's fd 3. */
function stdioWith(input: boolean, fd3: number | undefined): StdioOptions {
  const base: StdioOptions = [input ? 'pipe' : 'ignore', 'pipe', 'pipe'];
  return fd3 === undefined ? base : [...base, fd3];
}

type Collected = ChildExit & { stdout: string; stderr: string; timedOut: boolean; outputHeld: boolean; error?: Error };

/**
 * Runs a program to its end and collects its output (one final newline
 * stripped). At the deadline, or when `signal` aborts, it is sent
 * `killSignal` (its process group when `detached`); every wait after that
 * is bounded, and output a process outside its group holds is let go of.
 */
async function collect(
  program: string,
  argv: readonly string[],
  options: {
    deadline: Deadline;
    killSignal: NodeJS.Signals;
    detached: boolean;
    input?: string;
    env?: Record<string, string>;
    cwd?: string;
    fd3?: number;
    signal?: AbortSignal;
  },
): Promise<Collected> {
  const subprocess = spawn(program, argv, {
    cwd: options.cwd,
    env: withEnv(options.env),
    detached: options.detached,
    stdio: stdioWith(options.input !== undefined, options.fd3),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  subprocess.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  subprocess.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  subprocess.stdin?.on('error', () => {});
  subprocess.stdin?.end(options.input);
  const ended = processEnded(subprocess);
  const exited = exitOf(subprocess, ended);
  let timedOut = false;
  try {
    await options.deadline.race(ended, options.signal);
  } catch (error) {
    const send = (signal: NodeJS.Signals) => {
      if (subprocess.pid === undefined) return;
      if (options.detached) signalGroup(subprocess.pid, signal);
      else subprocess.kill(signal);
    };
    send(options.killSignal);
    const what = `${program} (pid ${subprocess.pid}) to end after ${options.killSignal}`;
    if (!(await within(KILL_WAIT_MS, ended, what)) && options.killSignal !== 'SIGKILL') {
      send('SIGKILL');
      await within(KILL_WAIT_MS, ended, `${program} (pid ${subprocess.pid}) to end after SIGKILL`);
    }
    if (!(error instanceof TimeoutError)) {
      releasePipes(subprocess);
      throw error;
    }
    timedOut = true;
  }
  let outputHeld = false;
  if (!(await within(PIPE_GRACE_MS, exited, `the output of ${program} to close`))) {
    outputHeld = true;
    releasePipes(subprocess);
  }
  const exit = (await within(1000, exited, `${program} to settle`))
    ? await exited
    : { exitCode: undefined, signal: undefined };
  const text = (chunks: Buffer[]) =>
    Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  return { ...exit, stdout: text(out), stderr: text(err), timedOut, outputHeld };
}

/** Runs a short command to completion; throws with its stderr when it fails. */
export async function run(
  file: string,
  args: readonly string[],
  options: { input?: string; netns?: string; timeoutMs?: number } = {},
): Promise<string> {
  const [program, argv] = options.netns ? ['ip', ['netns', 'exec', options.netns, file, ...args]] : [file, [...args]];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const result = await collect(program, argv, {
    deadline: Deadline.in(timeoutMs, `${program} to finish`),
    // SIGTERM first (a short command may clean up), SIGKILL if it does not end.
    killSignal: 'SIGTERM',
    detached: true,
    input: options.input,
  });
  if (result.exitCode !== 0) {
    const detail = result.timedOut
      ? `timed out after ${timeoutMs} ms`
      : (result.stderr || result.stdout || result.error?.message || '').trim().split('\n').slice(-3).join(' | ');
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
  const result = await collect(program, argv, {
    deadline: options.deadline,
    killSignal: 'SIGKILL',
    detached: true,
    env: options.env,
    cwd: options.cwd,
    fd3: options.fd3,
    signal: options.signal,
  });
  return {
    exitCode: result.timedOut ? null : (result.exitCode ?? null),
    stdout: result.stdout,
    // A program that never started (not installed) says so where its complaint would be.
    stderr: result.stderr || (result.exitCode === undefined ? (result.error?.message ?? '') : ''),
    timedOut: result.timedOut,
    outputHeld: result.outputHeld,
    durationMs: performance.now() - started,
  };
}

/**
 * Runs a command that ends at once (flock --nonblock) and returns its exit
 * code, or undefined when it could not run; `fd3` is passed as its fd 3.
 * Synchronous, for checks made while listing (core/job-record.ts).
 */
export function runAtOnce(file: string, args: readonly string[], options: { fd3?: number } = {}): number | undefined {
  const result = spawnSync(file, [...args], { timeout: 10_000, stdio: stdioWith(false, options.fd3) });
  return result.error || result.status === null ? undefined : result.status;
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
  const subprocess = spawn(file, [...args], { env: withEnv(env), stdio: 'inherit', detached: true });
  return {
    kill: (signal) => subprocess.kill(signal),
    exited: exitOf(subprocess).then(({ exitCode, signal }) => ({ exitCode, signal })),
  };
}

export { sleep };
