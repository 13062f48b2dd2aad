/**
 * A running job meets what it did not expect and still tears down: a
 * malformed line on its power control socket is answered with an error and
 * the job goes on to pass; an unhandled rejection or an uncaught exception
 * anywhere in the harness ends the run through its teardown (power off, PXE
 * server and namespace removed) with exit 3.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { jobIdOf, NO_RESIDUE, REPO, residueOf, resultsDirOf, startHil } from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let results: string;
let state: string;
let env: Record<string, string>;

beforeAll(async () => {
  results = files.results();
  state = files.tempDir('hil-faults-');
  env = { PXE_HIL_RUNTIME_DIR: join(state, 'run'), PXE_HIL_LOCK_DIR: join(state, 'locks') };
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

/** The power socket of the one job under the runtime directory, once the job has one. */
function powerSocket(): string | undefined {
  const root = env.PXE_HIL_RUNTIME_DIR!;
  if (!existsSync(root)) return undefined;
  for (const name of readdirSync(root).filter((entry) => /^[0-9a-f]{8}$/.test(entry))) {
    const path = join(root, name, 'power.sock');
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Sends lines on one connection and reads one answer line for each. */
async function exchange(path: string, lines: string[]): Promise<string[]> {
  const socket = connect(path);
  try {
    const answers: string[] = [];
    const done = new Promise<string[]>((resolve, reject) => {
      socket.on('error', reject);
      createInterface({ input: socket }).on('line', (line) => {
        answers.push(line);
        if (answers.length === lines.length) resolve(answers);
      });
    });
    socket.write(lines.map((line) => `${line}\n`).join(''));
    return await Deadline.in(60_000, 'answers on the power socket').race(done);
  } finally {
    socket.destroy();
  }
}

describe('faults inside a running job', () => {
  it('answers malformed lines on the power socket with an error each, keeps serving, and the job passes', async () => {
    let answers: Promise<string[]> | undefined;
    const run = startHil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results], {
      env,
      onLine: (line) => {
        const socket = /milestone\s+kernel fetched/.test(line) ? powerSocket() : undefined;
        if (socket && !answers)
          answers = exchange(socket, ['null', '[]', '"on"', '42', '{"action":5}', '{}', '{"action":"status"}']);
      },
    });
    const finished = await run;
    expect(answers, String(finished.all)).toBeDefined();
    const request = '{"action":"on|off|cycle|status"}';
    expect((await answers!).map((line) => JSON.parse(line))).toEqual([
      { ok: false, error: `not a request: send ${request}` },
      { ok: false, error: `not a request: send ${request}` },
      { ok: false, error: `not a request: send ${request}` },
      { ok: false, error: `not a request: send ${request}` },
      { ok: false, error: "unknown action '5': on, off, cycle or status" },
      { ok: false, error: "unknown action 'undefined': on, off, cycle or status" },
      { ok: true, state: 'on' },
    ]);
    expect(finished.exitCode, String(finished.all)).toBe(0);
    expect(String(finished.stdout)).toMatch(/result\s+PASSED \(exit 0\)/);
    expect(residueOf(jobIdOf(resultsDirOf(String(finished.stdout))))).toEqual(NO_RESIDUE);
  }, 300_000);

  for (const fault of ['rejection', 'exception'] as const) {
    const what = fault === 'rejection' ? 'an unhandled rejection' : 'an uncaught exception';
    it(`${what} mid-boot ends the run through its teardown, exit 3`, async () => {
      const child = execa(
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          './test/support/inject-fault.ts',
          'harness/cli/main.ts',
          '--target',
          'qemu-x86',
          '--image',
          'busybox',
          '--results',
          results,
        ],
        { cwd: REPO, env: { ...env, PXE_HIL_TEST_FAULT: fault }, reject: false, all: true, stdin: 'ignore' },
      );
      let sent = false;
      let buffer = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        if (!sent && /milestone\s+kernel fetched/.test(buffer)) {
          sent = true;
          child.kill('SIGUSR2');
        }
      });
      const run = await child;
      expect(sent, String(run.all)).toBe(true);
      const message = fault === 'rejection' ? 'injected unhandled rejection' : 'injected uncaught exception';
      expect(String(run.stdout)).toMatch(/teardown\s+undoing \d+ steps/);
      expect(String(run.stdout)).toMatch(/power\s+off via qemu \(hil-qemu-x86-[0-9a-f]{8}\): done/);
      expect(String(run.stdout)).toContain(`result    LAB-FAULT (exit 3): unexpected error: ${message}`);
      expect(run.exitCode, String(run.all)).toBe(3);
      const dir = resultsDirOf(String(run.stdout));
      expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toContain(`unexpected error: ${message}`);
      expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
      expect(readdirSync(env.PXE_HIL_RUNTIME_DIR!)).toEqual([]);
    }, 300_000);
  }
});
