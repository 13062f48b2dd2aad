/**
 * A run whose output nothing reads any more (`npm run hil ... | head`, a
 * `tee` killed, a CI agent's pipe gone) stops as on a hang-up: it tears down
 * (powers off, removes its PXE server), keeps its console log and exits 141
 * (128 + SIGPIPE). It used to spin at full CPU for ever, holding its board
 * powered and locked: each broken write raised an uncaught error, and so did
 * writing that error to a stderr just as closed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HIL_COMMAND, hil, NO_RESIDUE, REPO, readResult, residueOf, resultsRoot } from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';

const BOOT_TIMEOUT = 240_000;
const NEVER_ENDS_MS = 150_000;
let results: string;

beforeAll(async () => {
  results = resultsRoot();
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

afterAll(() => rmSync(results, { recursive: true, force: true }));

type Ended = { code: number | null; jobId: string; stderr: string; dir: string };

/** Runs a boot whose stdout (and, with `mergeStderr`, its stderr: one pipe) is closed by its reader mid-boot. */
async function bootWithOutputClosedMidway(name: string, mergeStderr: boolean): Promise<Ended> {
  const resultsDir = join(results, name);
  const child: ChildProcess = spawn(
    'sh',
    [
      '-c',
      mergeStderr ? 'exec "$0" "$@" 2>&1' : 'exec "$0" "$@"',
      process.execPath,
      ...HIL_COMMAND,
      '--target',
      'qemu-x86',
      '--image',
      'busybox',
      '--results',
      resultsDir,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let jobId = '';
  let seen = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    jobId ||= /run\s+\S+-([0-9a-f]{8}): target qemu-x86/.exec(seen)?.[1] ?? '';
    // Mid-boot: QEMU, dnsmasq and the file server running, the kernel on the wire. The reader goes away.
    if (/milestone\s+kernel fetched/.test(seen)) child.stdout?.destroy();
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  // The failure this test is for is a run that never ends: bounded here, below the test's time-out, so that
  // the test can end it (and what it started) itself and say so.
  const timer = setTimeout(() => child.kill('SIGKILL'), NEVER_ENDS_MS);
  const [code] = await exited.finally(() => clearTimeout(timer));
  if (child.signalCode === 'SIGKILL') {
    await hil(['doctor', '--cleanup']);
    throw new Error(`the run had not ended ${NEVER_ENDS_MS / 1000} s after its output closed; killed:\n${stderr}`);
  }
  const [run] = readdirSync(join(resultsDir, 'qemu-x86'));
  return { code, jobId, stderr, dir: join(resultsDir, 'qemu-x86', run!) };
}

for (const [name, mergeStderr] of [
  ['stdout and stderr in one closed pipe (2>&1 | head)', true],
  ['stdout alone closed (| head)', false],
] as const) {
  it(
    `${name}: the run tears down and exits 141, its console log kept`,
    async () => {
      const ended = await bootWithOutputClosedMidway(mergeStderr ? 'merged' : 'stdout', mergeStderr);
      expect(ended.code, ended.stderr).toBe(141);
      expect(ended.jobId).toMatch(/^[0-9a-f]{8}$/);
      expect(residueOf(ended.jobId)).toEqual(NO_RESIDUE);
      expect(readResult(ended.dir, 'console.log')).toMatch(/iPXE/);
      expect(readResult(ended.dir, 'junit.xml')).toMatch(
        /<error message="interrupted by SIGPIPE: its stdout was closed/,
      );
      expect(readResult(ended.dir, 'events.jsonl')).toMatch(/"type":"power","action":"off"/);
      if (!mergeStderr) expect(ended.stderr).toMatch(/^pxe-hil: its stdout was closed \(EPIPE.*; stopping the run$/m);
    },
    BOOT_TIMEOUT,
  );
}
