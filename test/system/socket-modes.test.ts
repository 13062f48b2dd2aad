/**
 * A job's sockets are its own whatever the umask it was started with: a run
 * started with umask 000 still has a 0700 runtime and job directory and
 * 0600 sockets (console, console share, power control, QEMU's QMP monitor,
 * which as root is command execution on the host), looked at mid-run.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobIdOf, NO_RESIDUE, REPO, residueOf, resultsDirOf, resultsRoot } from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';

let results: string;
let state: string;

beforeAll(async () => {
  results = resultsRoot();
  state = mkdtempSync(join(tmpdir(), 'hil-modes-'));
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

afterAll(() => {
  rmSync(results, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

/** 'socket 0600', 'dir 0700': the type and permission bits of a path. */
function kindAndMode(path: string): string {
  const stats = lstatSync(path);
  const kind = stats.isSocket() ? 'socket' : stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'link' : 'file';
  return `${kind} ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

it('with umask 000, the job directory is 0700 and every socket in it 0600', async () => {
  const runtime = join(state, 'run');
  const child = execa(
    'sh',
    [
      '-c',
      'umask 000 && exec "$0" "$@"',
      process.execPath,
      '--import',
      'tsx',
      'harness/cli/main.ts',
      '--target',
      'qemu-x86',
      '--image',
      'busybox',
      '--results',
      results,
      '--keep-up',
    ],
    {
      cwd: REPO,
      env: { PXE_HIL_RUNTIME_DIR: runtime, PXE_HIL_LOCK_DIR: join(state, 'locks') },
      reject: false,
      all: true,
      stdin: 'ignore',
    },
  );
  let seen: Record<string, string> | undefined;
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    // Held up: every socket of the job is there.
    if (!seen && /hold\s+target up/.test(buffer)) {
      const jobId = readdirSync(runtime).find((name) => /^[0-9a-f]{8}$/.test(name))!;
      const dir = join(runtime, jobId);
      seen = { runtime: kindAndMode(runtime), job: kindAndMode(dir) };
      for (const name of ['console.sock', 'console-share.sock', 'power.sock', 'qmp.sock'])
        seen[name] = kindAndMode(join(dir, name));
      child.kill('SIGINT');
    }
  });
  const run = await child;
  expect(seen, String(run.all)).toEqual({
    runtime: 'dir 0700',
    job: 'dir 0700',
    'console.sock': 'socket 0600',
    'console-share.sock': 'socket 0600',
    'power.sock': 'socket 0600',
    'qmp.sock': 'socket 0600',
  });
  expect(kindAndMode(join(state, 'locks'))).toBe('dir 0700');
  expect(run.exitCode, String(run.all)).toBe(0);
  expect(residueOf(jobIdOf(resultsDirOf(String(run.stdout))))).toEqual(NO_RESIDUE);
}, 300_000);
