/**
 * What the system tests that run jobs share: images prepared up front, the
 * milestones of a busybox boot, the check after each test that its job left
 * nothing behind, and where a secret shows in what runs wrote.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { hil, jobIdOf, NO_RESIDUE, residueOf, resultsDirOf } from './hil.js';

/** Time for `prepareImages` in a beforeAll: the first preparation downloads Debian packages into the cache. */
export const PREPARE_TIMEOUT = 600_000;

/**
 * Prepares `image` (all images when none is named) into the shared cache, so
 * that each test then times only its boot.
 */
export async function prepareImages(image?: string): Promise<void> {
  const prepared = await hil(['images', ...(image ? ['--image', image] : [])]);
  expect(prepared.exitCode, prepared.stderr).toBe(0);
  if (image) expect(prepared.stdout.split('\n')[0]!.split(' ')[0]).toBe(image);
}

/** The milestones of a busybox boot, in order. */
export const BUSYBOX_MILESTONES = [
  'DHCP lease',
  'kernel fetched',
  'initrd fetched',
  'Linux version',
  'init started',
  'shell prompt',
];

/**
 * For a file whose tests each run a job: `dir(stdout)` takes the run's
 * results directory from its output and remembers it; after each test, the
 * test must have run a job, that job must have left no namespace or process
 * behind, and `also(dir)` must hold.
 */
export function checkEachRun(also?: (dir: string) => void): { dir(stdout: string): string } {
  let lastRunDir: string | undefined;
  beforeEach(() => {
    lastRunDir = undefined;
  });
  afterEach(() => {
    expect(lastRunDir, 'the test ran no job').toBeDefined();
    expect(residueOf(jobIdOf(lastRunDir!)), 'namespace or processes left behind by the run').toEqual(NO_RESIDUE);
    also?.(lastRunDir!);
  });
  return {
    dir(stdout: string): string {
      lastRunDir = resultsDirOf(stdout);
      return lastRunDir;
    },
  };
}

/** Every file under `dir`, as sorted paths relative to it. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/**
 * Where `secret` shows: the path (relative to `root`) of each file under `root`
 * that holds it, and the name of each of `outputs` (e.g. stdout, stderr) that does.
 */
export function placesHolding(secret: string, root: string, outputs: Record<string, string>): string[] {
  return [
    ...filesUnder(root).filter((file) => readFileSync(join(root, file)).includes(secret)),
    ...Object.entries(outputs)
      .filter(([, text]) => text.includes(secret))
      .map(([name]) => name),
  ];
}
