/** Runs the `hil` command line as a user would, and looks for anything a run left behind. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';

export const REPO = new URL('../../', import.meta.url).pathname;

/** Node's arguments for the `hil` command line as `npm run hil` runs it: the build, no TypeScript loader. */
export const HIL_COMMAND = ['.build/harness/cli/main.js'];

export function resultsRoot(): string {
  return mkdtempSync(join(tmpdir(), 'hil-results-'));
}

/** Writes a target file `<dir>/<name>.ts` whose default export is `target`, as a test's --targets-dir holds it. */
export function writeTargetFile(dir: string, target: { name: string; [field: string]: unknown }): void {
  writeFileSync(join(dir, `${target.name}.ts`), `export default ${JSON.stringify(target, null, 2)};\n`);
}

export type HilRun = { exitCode: number; stdout: string; stderr: string };

export function startHil(
  args: string[],
  options: { env?: Record<string, string>; onLine?: (line: string, child: ResultPromise) => void } = {},
): ResultPromise {
  const child = execa(process.execPath, [...HIL_COMMAND, ...args], {
    cwd: REPO,
    env: { ...options.env },
    reject: false,
    all: true,
    stdin: 'ignore',
  });
  if (options.onLine) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) options.onLine!(line, child);
    });
  }
  return child;
}

export async function hil(args: string[], options: Parameters<typeof startHil>[1] = {}): Promise<HilRun> {
  const result = await startHil(args, options);
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * What a job left behind: its namespace (hil-<job id>) and any process whose
 * command line names the job (QEMU's -name, dnsmasq's pid file, the file
 * server's --job). Scoped to one job, so that other jobs on the host do not count.
 */
export type Residue = { namespaces: string[]; processes: string[] };

export function residueOf(jobId: string): Residue {
  const namespaces = execaSync('ip', ['netns', 'list'], { reject: false })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n === `hil-${jobId}`);
  const processes = execaSync('pgrep', ['-a', '-f', jobId], { reject: false })
    .stdout.split('\n')
    .filter((line) => line && !line.includes('pgrep'));
  return { namespaces, processes };
}

export const NO_RESIDUE: Residue = { namespaces: [], processes: [] };

/** The job id of a finished run, from its event log. */
export function jobIdOf(dir: string): string {
  const start = events(dir).find((e) => e.type === 'run-start');
  if (!start || typeof start.jobId !== 'string') throw new Error(`no run-start event in ${dir}`);
  return start.jobId;
}

export function resultsDirOf(stdout: string): string {
  const match = /^results: (.+)$/m.exec(stdout);
  if (!match) throw new Error(`no results line in output:\n${stdout}`);
  return resolve(REPO, match[1]!);
}

export function readResult(dir: string, file: string): string {
  return readFileSync(join(dir, file), 'utf8');
}

export type LoggedEvent = { type: string; [key: string]: unknown };

export function events(dir: string): LoggedEvent[] {
  return readResult(dir, 'events.jsonl')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as LoggedEvent);
}

export const JUNIT_SCHEMA = join(REPO, 'test/support/junit.xsd');

/** Validates a JUnit file against the schema Jenkins' tooling publishes (junit.xsd: the xUnit plugin's junit-10.xsd); returns xmllint's complaint, or '' when valid. */
export function junitProblems(path: string): string {
  const result = execaSync('xmllint', ['--noout', '--schema', JUNIT_SCHEMA, path], { reject: false });
  if (result.exitCode === 0) return '';
  return result.stderr || `xmllint exit ${result.exitCode}`;
}
