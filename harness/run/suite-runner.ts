/**
 * The suite stage of a job: once the target has booted, open a way to its SSH
 * port (a forwarder socket in the job's work directory), wait until the
 * target lets the harness log in with the pinned host key, then run the named
 * vitest suites in a child process against it. The suites find the target
 * through PXE_HIL_SUITE_CONTEXT (suite-context.ts). Results go to
 * suites-junit.xml (vitest's JUnit reporter) and suites.log in the run's
 * results directory.
 *
 * Tested against: vitest 4.1 (junit reporter), node-ssh 13.2, dropbear 2022.83.
 * Reference: vitest CLI (run, --config) and reporters (junit, allure-vitest).
 */
import { existsSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import type { Target } from '../config/target.js';
import { REPO_ROOT } from '../core/build.js';
import { Deadline } from '../core/deadline.js';
import { startChild } from '../core/process.js';
import { LabFault, TargetFailure, UsageError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { StreamRedactor } from '../core/redact.js';
import { maskAllureResults } from '../report/allure.js';
import { jenkinsJunit } from '../report/vitest-junit.js';
import type { JobSsh, PreparedImage } from '../images/image.js';
import { startSshForwarder } from '../ssh/forwarder.js';
import { waitForSsh } from '../ssh/ssh-login.js';
import { SUITE_CONTEXT_ENV, type SuiteContext, writeSuiteContext } from './suite-context.js';

const REPO = REPO_ROOT;
const SUITES_DIR = join(REPO, 'suites');
const SUITES_CONFIG = join(SUITES_DIR, 'vitest.config.ts');
const VITEST = join(createRequire(import.meta.url).resolve('vitest/package.json'), '..', 'vitest.mjs');

/** How long the target has after its boot milestones to let the harness log in over SSH (times the target's timeoutScale). */
export const SSH_READY_TIMEOUT_MS = 60_000;

/** A suite name (suites/NAME.test.ts) or a path to a .test.ts file; a UsageError when there is no such file. */
export function resolveSuite(nameOrPath: string, cwd = process.cwd()): string {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.ts');
  const file = isPath
    ? isAbsolute(nameOrPath)
      ? nameOrPath
      : resolve(cwd, nameOrPath)
    : join(SUITES_DIR, `${nameOrPath}.test.ts`);
  if (!/^[\w./-]+$/.test(nameOrPath) || !existsSync(file) || !file.endsWith('.test.ts')) {
    throw new UsageError(
      `no suite '${nameOrPath}': expected a name of a file suites/<name>.test.ts or the path of a .test.ts file`,
    );
  }
  return file;
}

export type SuiteCounts = {
  name: string;
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  failedTests: string[];
};

/**
 * Suites reach the board over SSH at its address: a proxyDHCP job never
 * learns it (the lab's DHCP server gives it), so such a target is refused
 * before anything starts.
 */
export function refuseSuitesWithoutBoardAddress(target: Target, flag: string): void {
  if (target.network.kind === 'lab' && target.network.mode === 'proxy') {
    throw new UsageError(
      `${flag}: suites over SSH need the board's address, which a proxyDHCP job does not give: run ${target.name}'s suites in 'dhcp' mode (a boot VLAN) or boot it without suites`,
    );
  }
}

export async function runSuites(options: {
  bus: EventBus;
  signal: AbortSignal;
  workDir: string;
  netns: string;
  boardIp: string;
  target: Target;
  prepared: PreparedImage;
  /** The job's SSH login, its host key pinned; none: the image runs no SSH server. */
  ssh: JobSsh | undefined;
  /** The job's facts a suite sees (suite-context.ts), but for the SSH login this stage adds. */
  job: Pick<
    SuiteContext,
    'jobId' | 'target' | 'runId' | 'image' | 'mac' | 'serverIp' | 'consoleShare' | 'powerControl'
  >;
  suiteFiles: string[];
  resultsDir: string;
  /** The SSH forwarder's socket in the job's directory; another name lets a second run share a job. */
  sshSocketName?: string;
  onLogLine?: (line: string) => void;
}): Promise<SuiteCounts[]> {
  const { bus, signal, prepared, ssh } = options;
  if (!ssh)
    throw new UsageError(`image '${options.job.image}' runs no SSH server; suites need one (use --image busybox)`);

  const socketPath = join(options.workDir, options.sshSocketName ?? 'ssh.sock');
  const contextPath = join(options.workDir, `suites-${process.pid}.json`);
  await writeSuiteContext(contextPath, {
    ...options.job,
    boardIp: options.boardIp,
    kernelRelease: prepared.kernelRelease,
    memoryMiB: options.target.power.driver === 'qemu' ? options.target.power.memoryMiB : undefined,
    sshSocket: socketPath,
    ssh: {
      user: ssh.user,
      hostKey: ssh.hostKey,
      hostKeyFingerprint: ssh.hostKeyFingerprint,
      clientKeyPath: ssh.clientKeyPath,
    },
  });

  const forwarder = await startSshForwarder({
    netns: options.netns,
    socketPath,
    host: options.boardIp,
    port: ssh.port,
    onLogLine: options.onLogLine,
  });
  try {
    const started = bus.now();
    const login = { socketPath, user: ssh.user, hostKey: ssh.hostKey, clientKeyPath: ssh.clientKeyPath };
    try {
      const client = await waitForSsh(
        login,
        Deadline.in(SSH_READY_TIMEOUT_MS * options.target.timeoutScale, `SSH login to ${options.boardIp}`),
        signal,
      );
      client.dispose();
    } catch (error) {
      bus.emit({
        type: 'ssh',
        state: 'failed',
        address: `${options.boardIp}:${ssh.port}`,
        fingerprint: ssh.hostKeyFingerprint,
        durationMs: bus.now() - started,
        detail: (error as Error).message,
      });
      throw error;
    }
    bus.emit({
      type: 'ssh',
      state: 'ready',
      address: `${options.boardIp}:${ssh.port}`,
      fingerprint: ssh.hostKeyFingerprint,
      durationMs: bus.now() - started,
    });
    return await runVitest({ ...options, contextPath });
  } finally {
    await forwarder.stop();
  }
}

async function runVitest(options: {
  bus: EventBus;
  signal: AbortSignal;
  suiteFiles: string[];
  resultsDir: string;
  contextPath: string;
}): Promise<SuiteCounts[]> {
  const { bus } = options;
  const junitPath = join(options.resultsDir, 'suites-junit.xml');
  const allureResults = join(options.resultsDir, 'allure-results');
  const log = createWriteStream(join(options.resultsDir, 'suites.log'));
  // Suites' output (stdout and stderr) goes to suites.log with registered secrets masked.
  const masked = new StreamRedactor('latin1');
  const write = (chunk: Buffer) => log.write(masked.push(chunk.toString('latin1')), 'latin1');
  const names = options.suiteFiles.map(suiteName);
  for (const name of names) bus.emit({ type: 'suite', name, state: 'start' });
  const started = bus.now();
  // The reporters (terminal, JUnit, Allure) are set in suites/vitest.config.ts from these variables.
  const child = startChild('vitest', process.execPath, [VITEST, 'run', '--config', SUITES_CONFIG], {
    cwd: REPO,
    env: {
      [SUITE_CONTEXT_ENV]: options.contextPath,
      PXE_HIL_SUITE_FILES: options.suiteFiles.join('\n'),
      PXE_HIL_SUITE_JUNIT: junitPath,
      PXE_HIL_ALLURE_RESULTS: allureResults,
      NO_COLOR: '1',
    },
    onStdoutData: write,
    onStderrData: write,
  });
  const stop = () => void child.stop(5000);
  options.signal.addEventListener('abort', stop, { once: true });
  const result = await child.exited.finally(() => options.signal.removeEventListener('abort', stop));
  await new Promise<void>((done) => log.end(masked.flush(), 'latin1', done));
  options.signal.throwIfAborted();

  const junit = existsSync(junitPath) ? jenkinsJunit(await readFile(junitPath, 'utf8')) : undefined;
  if (junit) await writeFile(junitPath, junit);
  maskAllureResults(allureResults);
  const counts = junit ? parseVitestJunit(junit) : [];
  for (const name of names) {
    const count = counts.find((c) => c.name === name);
    bus.emit({
      type: 'suite',
      name,
      state: 'end',
      passed: count?.passed ?? 0,
      failed: count?.failed ?? 0,
      skipped: count?.skipped ?? 0,
      durationMs: count?.durationMs ?? bus.now() - started,
    });
  }
  const failed = counts.filter((c) => c.failed > 0);
  if (failed.length > 0) {
    const detail = failed
      .map((c) => `${c.name}: ${c.failed} of ${c.tests} failed (${c.failedTests.join('; ')})`)
      .join(', ');
    throw new TargetFailure(`suite failed: ${detail}`);
  }
  const exit = result.exitCode ?? result.signal;
  if (result.exitCode !== 0 || !junit) {
    throw new LabFault(
      `the suite runner (vitest) failed (exit ${exit}) without a failed test; see suites.log in the results`,
    );
  }
  const missing = names.filter((name) => !counts.some((c) => c.name === name && c.tests > 0));
  if (missing.length > 0)
    throw new LabFault(`the suite runner ran no tests of ${missing.join(', ')}; see suites.log in the results`);
  return counts;
}

/** A suite's name in reports: its path under suites/ without .test.ts, else its file name. */
export function suiteName(file: string): string {
  const base = file.startsWith(`${SUITES_DIR}/`) ? file.slice(SUITES_DIR.length + 1) : file.split('/').pop()!;
  return base.replace(/\.test\.ts$/, '');
}

/** Per-suite counts from vitest's JUnit report (one <testsuite> per file, its name the file's path relative to the repository). */
export function parseVitestJunit(xml: string): SuiteCounts[] {
  const suites: SuiteCounts[] = [];
  for (const match of xml.matchAll(/<testsuite ([^>]*)>([\s\S]*?)<\/testsuite>/g)) {
    const attrs = attributes(match[1]!);
    const tests = Number(attrs.tests ?? 0);
    const failed = Number(attrs.failures ?? 0) + Number(attrs.errors ?? 0);
    const skipped = Number(attrs.skipped ?? 0);
    const failedTests = [...match[2]!.matchAll(/<testcase ([^>]*)>([\s\S]*?)<\/testcase>/g)]
      .filter((m) => /<(failure|error)\b/.test(m[2]!))
      .map((m) => unescapeXml(attributes(m[1]!).name ?? '?'));
    suites.push({
      name: suiteName(resolve(REPO, unescapeXml(attrs.name ?? ''))),
      tests,
      passed: tests - failed - skipped,
      failed,
      skipped,
      durationMs: Math.round(Number(attrs.time ?? 0) * 1000),
      failedTests,
    });
  }
  return suites;
}

function attributes(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/([\w:-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
