/**
 * A secret registered from the environment and printed by the target on its
 * console is masked in every file the run writes (console.log, console.raw,
 * events.jsonl, pxe.log, timeline.svg, junit.xml, the Allure results) and in
 * the terminal output, stdout and stderr. The busybox kernel without initrd is told its root
 * device is the secret, so it prints it (command line, then the panic's last
 * lines, which go into the JUnit failure).
 */
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hil, jobIdOf, NO_RESIDUE, readResult, residueOf, resultsDirOf, writeTargetFile } from '../support/hil.js';
import { filesUnder, PREPARE_TIMEOUT, placesHolding, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const SECRET = 'tok-9f3a7c1e5b';
const files = suiteScope();
let targetsDir: string;
let results: string;

beforeAll(async () => {
  targetsDir = files.tempDir('hil-targets-');
  results = files.results();
  const target = {
    name: 'secret-board',
    image: 'busybox-no-initrd',
    kernelArgs: `root=${SECRET}`,
    power: { driver: 'qemu', memoryMiB: 512, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg' },
    console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
    network: { kind: 'qemu-tap', mac: '52:54:00:5e:00:01' },
  };
  writeTargetFile(targetsDir, target);
  await prepareImages('busybox-no-initrd');
}, PREPARE_TIMEOUT);

describe('secrets redaction', () => {
  it('masks a registered secret the target prints, in every file the run writes and in its output', async () => {
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
    // Every file of the run (this results root holds only this run), the Allure results included.
    const written = filesUnder(results);
    const runDir = relative(results, dir);
    expect(written.filter((file) => !file.includes('/allure-results/'))).toEqual(
      ['console.log', 'console.raw', 'events.jsonl', 'junit.xml', 'pxe.log', 'timeline.svg'].map((f) =>
        join(runDir, f),
      ),
    );
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
    expect(
      written
        .filter((file) => file.includes('/allure-results/'))
        .map((file) => file.split('/').pop()!.replace(uuid, '<uuid>'))
        .sort(),
    ).toEqual([
      '<uuid>-attachment.jsonl',
      '<uuid>-attachment.log',
      '<uuid>-attachment.log',
      '<uuid>-attachment.svg',
      '<uuid>-result.json',
      'environment.properties',
    ]);
    expect(placesHolding(SECRET, results, { stdout: run.stdout, stderr: run.stderr })).toEqual([]);
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 300_000);
});
