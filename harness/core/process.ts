/**
 * Long-running children of the harness (dnsmasq, QEMU, the namespace's file
 * server). Each runs in its own process group, so a Ctrl-C reaches only the
 * harness, which then stops them in order; each is stopped by its pid. Short
 * commands run to their end or their deadline (`run`, `runBounded`).
 *
 * Built on node:child_process alone (spawn, its 'close' event, process groups
 * by a negative pid), so that a run loads no process library.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Deadline, sleep, TimeoutError } from './deadline.js';

export type ChildExit = { exitCode: number | undefined; signal: string | undefined };

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

/**
 * How a child ended, once it has and its stdout and stderr are read to their
 * end: its exit code, or the signal that ended it; neither when it never
 * started (the program was not found: `error` says why). Not the 'close'
 * event: with an IPC channel the harness disconnected, Node never emits it.
 */
function exitOf(subprocess: ChildProcess): Promise<ChildExit & { error?: Error }> {
  const drained = (stream: NodeJS.ReadableStream | null) =>
    stream && !(stream as { closed?: boolean }).closed
      ? new Promise<void>((resolve) => stream.once('close', () => resolve()))
      : Promise.resolve();
  const outputs = Promise.all([drained(subprocess.stdout), drained(subprocess.stderr)]);
  return new Promise((resolve) => {
    subprocess.on('error', (error) => {
      if (subprocess.pid === undefined) resolve({ exitCode: undefined, signal: undefined, error });
    });
    subprocess.once(
      'exit',
      (code: number | null, signal: NodeJS.Signals | null) =>
        void outputs.then(() => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined })),
    );
  });
}

export class Child {
  readonly exited: Promise<ChildExit>;
  private exitInfo: ChildExit | undefined;

  constructor(
    readonly name: string,
    readonly subprocess: ChildProcess,
  ) {
    this.exited = exitOf(subprocess).then(({ exitCode, signal }) => (this.exitInfo = { exitCode, signal }));
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

  /** SIGTERM to the child's process group, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<ChildExit> {
    if (!this.running) return this.exitInfo!;
    if (this.subprocess.pid === undefined) return await this.exited;
    signalGroup(this.pid, 'SIGTERM');
    const deadline = Deadline.in(graceMs, `${this.name} (pid ${this.pid}) to exit`);
    try {
      return await deadline.race(this.exited);
    } catch {
      signalGroup(this.pid, 'SIGKILL');
      return await this.exited;
    }
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

type Collected = ChildExit & { stdout: string; stderr: string; timedOut: boolean; error?: Error };

/**
 * Runs a program to its end and collects its output (one final newline
 * stripped); at the deadline it is sent `killSignal` (its process group when
 * `detached`) and its output so far is kept.
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
  },
): Promise<Collected> {
  const subprocess = spawn(program, argv, {
    cwd: options.cwd,
    env: withEnv(options.env),
    detached: options.detached,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  subprocess.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  subprocess.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  subprocess.stdin?.on('error', () => {});
  subprocess.stdin?.end(options.input);
  const exited = exitOf(subprocess);
  let timedOut = false;
  try {
    await options.deadline.race(exited);
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    timedOut = true;
    if (subprocess.pid !== undefined) {
      if (options.detached) signalGroup(subprocess.pid, options.killSignal);
      else subprocess.kill(options.killSignal);
    }
  }
  const exit = await exited;
  const text = (chunks: Buffer[]) =>
    Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  return { ...exit, stdout: text(out), stderr: text(err), timedOut };
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
    killSignal: 'SIGTERM',
    detached: false,
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
  durationMs: number;
};

export type BoundedOptions = {
  deadline: Deadline;
  /** Added to the inherited environment of the child only. */
  env?: Record<string, string>;
  /** Run through `sh -c` (for lab commands written as one line). */
  shell?: boolean;
  cwd?: string;
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
  });
  return {
    exitCode: result.timedOut ? null : (result.exitCode ?? null),
    stdout: result.stdout,
    // A program that never started (not installed) says so where its complaint would be.
    stderr: result.stderr || (result.exitCode === undefined ? (result.error?.message ?? '') : ''),
    timedOut: result.timedOut,
    durationMs: performance.now() - started,
  };
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
