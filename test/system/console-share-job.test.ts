/**
 * A real job (QEMU, busybox image) shares its console: job.json names
 * console-share.sock, a terminal attached there gets the console's bytes as
 * the job reads them, and the job still passes and leaves nothing behind.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { jobIdOf, NO_RESIDUE, readResult, residueOf, resultsDirOf, startHil } from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let results: string;
let runtime: string;

beforeAll(async () => {
  results = files.results();
  runtime = files.tempDir('hil-runtime-');
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

it('a running job serves its console to attached terminals', async () => {
  const run = startHil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results], {
    env: { PXE_HIL_RUNTIME_DIR: runtime },
  });
  try {
    await checkShare(run);
  } finally {
    // On a failed check, the run is stopped as Jenkins would (it tears down on SIGTERM).
    if (run.exitCode === null && run.pid !== undefined) run.kill('SIGTERM');
    await run;
  }
}, 300_000);

async function checkShare(run: ReturnType<typeof startHil>): Promise<void> {
  // The job's state file names the share socket once the console is open.
  const share = await Deadline.in(120_000, 'the job to share its console').poll(() => {
    for (const job of readdirSync(runtime)) {
      const file = join(runtime, job, 'job.json');
      if (!existsSync(file)) continue;
      let state: { consoleShare?: string; consoleEndpoint?: string };
      try {
        state = JSON.parse(readFileSync(file, 'utf8')) as typeof state;
      } catch {
        continue; // being written
      }
      if (state.consoleShare && existsSync(state.consoleShare)) return state;
    }
    return undefined;
  }, 50);
  expect(share.consoleEndpoint).toMatch(/^unix:.*\/console\.sock$/);
  const received: Buffer[] = [];
  const closed = new Promise<void>((resolve) => {
    const socket = connect(share.consoleShare!);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
  const result = await run;
  await closed;
  expect(result.exitCode, String(result.stdout) + String(result.stderr)).toBe(0);
  const dir = resultsDirOf(String(result.stdout));
  const seen = Buffer.concat(received).toString('latin1');
  expect(seen).toContain('Run /init as init process');
  // What the terminal got is exactly what the job logged from the moment it attached.
  expect(readFileSync(join(dir, 'console.raw'), 'latin1').endsWith(seen)).toBe(true);
  expect(readResult(dir, 'console.log')).toContain('--- pxe-hil: a terminal attached to the console ---');
  expect(readdirSync(runtime)).toEqual([]);
  expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
}
