/**
 * Suites on a booted target, through the command line, with the real parts:
 * the small image's dropbear SSH server, the socat forwarder into the job's
 * namespace, node-ssh with the pinned host key, and vitest as the suite
 * runner. Each run must leave nothing behind.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { events, hil, junitProblems, readResult, REPO, resultsDirOf, startHil } from '../support/hil.js';
import { checkEachRun, PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const BOOT_TIMEOUT = 300_000;
const files = suiteScope();
let results: string;
let suitesDir: string;
const { dir: runDir } = checkEachRun((dir) =>
  expect(junitProblems(join(dir, 'junit.xml')), 'junit.xml against the JUnit schema').toBe(''),
);

beforeAll(async () => {
  results = files.results();
  suitesDir = files.tempDir('hil-suites-');
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

/** The suites' JUnit file of a run, checked against the JUnit schema. */
function suitesJunit(dir: string): string {
  expect(junitProblems(join(dir, 'suites-junit.xml')), 'suites-junit.xml against the JUnit schema').toBe('');
  return readResult(dir, 'suites-junit.xml');
}

const testcases = (junit: string) =>
  [...junit.matchAll(/<testcase [^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/testcase>/g)].map((m) => [
    m[1],
    /<failure/.test(m[2]!) ? 'failed' : 'passed',
  ]);

const SMOKE_PASSED = [
  ['smoke &gt; runs the kernel it was booted with', 'passed'],
  ['smoke &gt; has the memory of its target file', 'passed'],
  ['smoke &gt; runs commands at the shell on its serial console, with their exit status', 'passed'],
  ['smoke &gt; reaches the harness HTTP server from the target', 'passed'],
  ['smoke &gt; takes a file over SSH and gives the same bytes back', 'passed'],
];

describe('suites on the booted target', () => {
  it(
    'boots the small image and passes the smoke suite over SSH',
    async () => {
      const run = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--suite', 'smoke', '--results', results]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = runDir(run.stdout);
      expect(testcases(suitesJunit(dir))).toEqual(SMOKE_PASSED);
      const logged = events(dir);
      expect(logged.find((e) => e.type === 'ssh')).toMatchObject({ state: 'ready', address: '10.42.0.10:22' });
      expect(logged.filter((e) => e.type === 'suite')).toMatchObject([
        { name: 'smoke', state: 'start' },
        { name: 'smoke', state: 'end', passed: 5, failed: 0, skipped: 0 },
      ]);
      // The boot's own report is unchanged by the suites.
      expect(readResult(dir, 'junit.xml')).toContain('failures="0" errors="0" skipped="0"');
      // Both JUnit files validate against the schema Jenkins' tooling publishes.
      expect(junitProblems(join(dir, 'junit.xml'))).toBe('');
      expect(junitProblems(join(dir, 'suites-junit.xml'))).toBe('');
      expect(run.stdout).toMatch(/suites\s+5 tests passed/);
    },
    BOOT_TIMEOUT,
  );

  it(
    'fails with exit 1 and names the test when a suite fails on the target',
    async () => {
      const suite = join(suitesDir, 'false-claim.test.ts');
      writeFileSync(
        suite,
        `import { expect, test } from '${join(REPO, 'fixtures/target.ts')}';\n` +
          `test('the target runs a hostname it does not have', async ({ target }) => {\n` +
          `  expect(await target.ssh.exec('hostname')).toEqual({ stdout: 'not-this-board', stderr: '', code: 0 });\n` +
          `});\n`,
      );
      const run = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--suite', suite, '--results', results]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      expect(run.stdout).toMatch(
        /FAILED \(exit 1\): suite failed: false-claim: 1 of 1 failed \(the target runs a hostname it does not have\)/,
      );
      const dir = runDir(run.stdout);
      expect(testcases(suitesJunit(dir))).toEqual([['the target runs a hostname it does not have', 'failed']]);
      expect(suitesJunit(dir)).toContain('hil-small');
    },
    BOOT_TIMEOUT,
  );

  it(
    'runs suites again on a target held up by --keep-up, without booting it; a suite cycles its power through the job',
    async () => {
      let held = false;
      const holder = startHil(['--target', 'qemu-x86', '--image', 'busybox', '--keep-up', '--results', results], {
        onLine: (line) => {
          if (/hold\s+target up for --no-boot suite runs/.test(line)) held = true;
        },
      });
      try {
        await Deadline.in(240_000, 'the --keep-up job to hold its target up').poll(
          () => (held ? true : undefined),
          200,
        );
        const again = await hil(['--target', 'qemu-x86', '--suite', 'smoke', '--no-boot', '--results', results]);
        expect(again.exitCode, again.stdout + again.stderr).toBe(0);
        const dir = resultsDirOf(again.stdout);
        expect(testcases(suitesJunit(dir))).toEqual(SMOKE_PASSED);
        // No boot and no power action in this run: only the suite stage.
        expect(events(dir).filter((e) => ['power', 'milestone', 'lease', 'file-served'].includes(e.type))).toEqual([]);

        // A suite that power-cycles the board through the job that owns its power, and sees it come back.
        const powerSuite = join(suitesDir, 'power-cycle.test.ts');
        writeFileSync(
          powerSuite,
          `import { expect, test } from '${join(REPO, 'fixtures/target.ts')}';\n` +
            `test('a power cycle reboots the board', async ({ target }) => {\n` +
            `  expect(await target.power.status()).toBe('on');\n` +
            `  expect(await target.shell.run('touch /tmp/before-cycle && ls /tmp/before-cycle')).toEqual({ output: '/tmp/before-cycle', exitCode: 0 });\n` +
            `  expect(await target.power.cycle()).toBe('on');\n` +
            `  await target.console.expect(/Linux version/, { timeoutMs: 120_000 });\n` +
            `  await target.console.expect(/hil-small# /, { timeoutMs: 120_000 });\n` +
            `  expect((await target.shell.run('ls /tmp/before-cycle')).exitCode).not.toBe(0);\n` +
            `}, 300_000);\n`,
        );
        const cycled = await hil(['--target', 'qemu-x86', '--suite', powerSuite, '--no-boot', '--results', results]);
        expect(cycled.exitCode, cycled.stdout + cycled.stderr).toBe(0);
        expect(testcases(suitesJunit(resultsDirOf(cycled.stdout)))).toEqual([
          ['a power cycle reboots the board', 'passed'],
        ]);
      } finally {
        holder.kill('SIGINT');
      }
      const first = await holder;
      // Ending a held job with Ctrl-C is its normal end: the boot passed.
      expect(first.exitCode, String(first.stdout)).toBe(0);
      expect(String(first.stdout)).toMatch(/power\s+off via qemu/);
      const holderDir = runDir(String(first.stdout));
      // The suite's cycle went through the holding job's driver, and shows in its events: its own cycle, then the suite's.
      expect(events(holderDir).filter((e) => e.type === 'power' && e.action === 'cycle')).toHaveLength(2);
    },
    BOOT_TIMEOUT,
  );
});
