/**
 * The image cache on a fresh machine: several packages prepared at once in
 * one process (a run prepares its image and its network loaders together),
 * and several processes preparing the same packages into one cache, from an
 * empty cache each time, with apt-get download and apt-cache as a run uses
 * them. Small packages only (less than 1 MB each).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRecord, unpackPackage } from '../../harness/images/apt-packages.js';
import { REPO } from '../support/hil.js';

const PACKAGES = ['zlib1g', 'libtommath1', 'libcrypt1', 'libtomcrypt1'];
let cache: string;
let saved: string | undefined;

beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), 'hil-fresh-cache-'));
  saved = process.env.PXE_HIL_CACHE;
  process.env.PXE_HIL_CACHE = cache;
});

afterEach(() => {
  if (saved === undefined) delete process.env.PXE_HIL_CACHE;
  else process.env.PXE_HIL_CACHE = saved;
  rmSync(cache, { recursive: true, force: true });
});

/** The cache's records file: every package asked for is in it, with apt's candidate version. */
function recorded(): Record<string, { version: string }> {
  return (
    JSON.parse(readFileSync(join(cache, 'apt-records.json'), 'utf8')) as {
      records: Record<string, { version: string }>;
    }
  ).records;
}

describe('the image cache, from empty', () => {
  it('takes several package records and unpacks at once in one process', async () => {
    // Each package asked for four times at once, as the stages of a run may.
    const asked = [...PACKAGES, ...PACKAGES, ...PACKAGES, ...PACKAGES];
    const records = await Promise.all(asked.map((name) => packageRecord(name)));
    expect(records.map((record) => typeof record.version)).toEqual(Array(asked.length).fill('string'));
    expect(Object.keys(recorded()).sort()).toEqual([...PACKAGES].sort());
    // And with the downloads, on a cache whose records are new again.
    rmSync(join(cache, 'apt-records.json'));
    const unpacked = await Promise.all([...PACKAGES, ...PACKAGES].map((name) => unpackPackage(name)));
    expect(unpacked.map((pkg) => pkg.name)).toEqual([...PACKAGES, ...PACKAGES]);
    for (const pkg of unpacked) expect(existsSync(join(pkg.root, '.complete')), pkg.root).toBe(true);
    expect(Object.keys(recorded()).sort()).toEqual([...PACKAGES].sort());
    // Nothing half-made is left: one directory per package, no work directories, no temporary records.
    expect(readdirSync(join(cache, 'packages')).sort()).toEqual(
      PACKAGES.map((name) => `${name}_${recorded()[name]!.version.replace(/[:/]/g, '_')}`).sort(),
    );
    expect(readdirSync(cache).sort()).toEqual(['apt-records.json', 'packages']);
  }, 300_000);

  it('several processes preparing the same packages into one cache do not break each other', async () => {
    const runs = await Promise.all(
      [1, 2, 3].map(() =>
        execa(process.execPath, ['--import', 'tsx', 'test/support/unpack-packages.ts', ...PACKAGES], {
          cwd: REPO,
          env: { PXE_HIL_CACHE: cache },
          reject: false,
        }),
      ),
    );
    for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
    const roots = runs.map((run) => (JSON.parse(String(run.stdout)) as { root: string }[]).map((pkg) => pkg.root));
    expect(roots[1]).toEqual(roots[0]);
    expect(roots[2]).toEqual(roots[0]);
    for (const root of roots[0]!) expect(existsSync(join(root, '.complete')), root).toBe(true);
    expect(readdirSync(join(cache, 'packages')).length).toBe(PACKAGES.length);
    expect(readdirSync(cache).sort()).toEqual(['apt-records.json', 'packages']);
    expect(Object.keys(recorded()).sort()).toEqual([...PACKAGES].sort());
  }, 300_000);
});
