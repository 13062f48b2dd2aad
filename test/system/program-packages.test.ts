/**
 * The packages a set of programs needs (theirs and their libraries'), from
 * real Debian packages: found by reading the programs and libraries once,
 * then taken from the kept list while apt names the same versions.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { programPackages, programsWithLibraries } from '../../harness/images/package-programs.js';

const PROGRAMS = [{ pkg: 'dropbear-bin', path: 'usr/sbin/dropbear' }];
const dir = mkdtempSync(join(tmpdir(), 'hil-program-packages-'));
const file = join(dir, 'program-packages.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const saved = () =>
  JSON.parse(readFileSync(file, 'utf8'))[JSON.stringify(PROGRAMS)] as { name: string; version: string }[];

describe('programPackages', () => {
  it('gives the packages programsWithLibraries unpacks, and keeps their list with the versions', async () => {
    const { packages } = await programsWithLibraries(PROGRAMS);
    expect(packages.map((p) => p.name)).toContain('libc6');
    expect(await programPackages(PROGRAMS, file)).toEqual(packages);
    expect(saved()).toEqual(packages.map(({ name, version }) => ({ name, version })));
    expect(await programPackages(PROGRAMS, file)).toEqual(packages);
  }, 120_000);

  it('looks again when apt names another version than the kept one', async () => {
    const { packages } = await programsWithLibraries(PROGRAMS);
    const list = saved();
    writeFileSync(
      file,
      JSON.stringify({ [JSON.stringify(PROGRAMS)]: list.map((p, i) => (i === 0 ? { ...p, version: '0-old' } : p)) }),
    );
    expect(await programPackages(PROGRAMS, file)).toEqual(packages);
    expect(saved()).toEqual(list);
  }, 120_000);
});
