/**
 * A secret registered from the environment and printed by the target on its
 * console is masked in console.log, console.raw, events.jsonl, junit.xml and
 * the terminal output. The busybox kernel without initrd is told its root
 * device is the secret, so it prints it (command line, then the panic's last
 * lines, which go into the JUnit failure).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hil,
  jobIdOf,
  NO_RESIDUE,
  readResult,
  residueOf,
  resultsDirOf,
  resultsRoot,
  writeTargetFile,
} from '../support/hil.js';

const SECRET = 'tok-9f3a7c1e5b';
let targetsDir: string;
let results: string;

beforeAll(async () => {
  targetsDir = mkdtempSync(join(tmpdir(), 'hil-targets-'));
  results = resultsRoot();
  const target = {
    name: 'secret-board',
    image: 'busybox-no-initrd',
    kernelArgs: `root=${SECRET}`,
    power: { driver: 'qemu', memoryMiB: 512, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg' },
    console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
    network: { kind: 'qemu-tap', mac: '52:54:00:5e:00:01' },
  };
  writeTargetFile(targetsDir, target);
  const prepared = await hil(['images', '--image', 'busybox-no-initrd']);
  expect(prepared.exitCode, prepared.stderr).toBe(0);
}, 600_000);

afterAll(() => {
  rmSync(targetsDir, { recursive: true, force: true });
  rmSync(results, { recursive: true, force: true });
});

describe('secrets redaction', () => {
  it('masks a registered secret the target prints, in every log and report', async () => {
    const run = await hil(['--target', 'secret-board', '--targets-dir', targetsDir, '--results', results], {
      env: { PXE_HIL_SECRET_VARS: 'HIL_TEST_TOKEN', HIL_TEST_TOKEN: SECRET },
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const dir = resultsDirOf(run.stdout);
    const consoleLog = readResult(dir, 'console.log');
    expect(consoleLog).toMatch(/Kernel command line: .*root=\*\*\*/);
    expect(consoleLog).toContain('VFS: Cannot open root device "***"');
    const junit = readResult(dir, 'junit.xml');
    expect(junit).toContain('VFS: Cannot open root device "***"');
    for (const file of ['console.log', 'console.raw', 'events.jsonl', 'junit.xml']) {
      expect(readFileSync(join(dir, file)).includes(SECRET), file).toBe(false);
    }
    expect(run.stdout.includes(SECRET)).toBe(false);
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 300_000);
});
