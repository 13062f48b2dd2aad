/**
 * Reports of a real run with a suite: Allure results turned into the HTML
 * report by allure-commandline (with Java), listing the boot's milestones as
 * steps with the logs and the timeline attached, and the suite's tests
 * (allure-vitest) beside it; the timeline is a valid SVG.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { hil, jobIdOf, NO_RESIDUE, residueOf, resultsDirOf } from '../support/hil.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let results: string;
let runDir: string;

beforeAll(async () => {
  results = files.results();
  const run = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--suite', 'smoke', '--results', results], {
    env: { BUILD_TAG: 'jenkins-hil-report-42' },
  });
  expect(run.exitCode, run.stdout + run.stderr).toBe(0);
  runDir = resultsDirOf(run.stdout);
  expect(residueOf(jobIdOf(runDir))).toEqual(NO_RESIDUE);
}, 300_000);

describe('reports of a run', () => {
  it('puts the run under <target>/<BUILD_TAG>/', () => {
    expect(runDir).toBe(join(results, 'qemu-x86', 'jenkins-hil-report-42'));
  });

  it('draws the boot timeline as valid SVG with every milestone and served file', () => {
    const svg = join(runDir, 'timeline.svg');
    expect(execaSync('xmllint', ['--noout', svg], { reject: false }).exitCode).toBe(0);
    const text = readFileSync(svg, 'utf8');
    for (const label of [
      'DHCP lease',
      'kernel fetched',
      'shell prompt',
      'http vmlinuz',
      'http initrd.cpio.gz',
      'power cycle',
    ])
      expect(text).toContain(`>${label}</text>`);
  });

  it("makes an Allure HTML report that lists the boot with its milestone steps, and the suite's tests", async () => {
    const out = join(results, 'allure-report');
    const report = await hil(['report', '--results', results, '--out', out]);
    expect(report.exitCode, report.stdout + report.stderr).toBe(0);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    const cases = readdirSync(join(out, 'data/test-cases')).map((f) =>
      JSON.parse(readFileSync(join(out, 'data/test-cases', f), 'utf8')),
    );
    const boot = cases.find((c) => c.name === 'boot qemu-x86');
    expect(boot, 'the boot test case').toBeDefined();
    expect(boot.status).toBe('passed');
    expect(boot.testStage.steps.map((s: { name: string }) => s.name)).toEqual([
      'DHCP lease',
      'kernel fetched',
      'initrd fetched',
      'Linux version',
      'init started',
      'shell prompt',
    ]);
    expect(boot.testStage.attachments.map((a: { name: string }) => a.name).sort()).toEqual([
      'PXE server log',
      'boot timeline',
      'console log',
      'step events',
    ]);
    expect(boot.labels).toContainEqual({ name: 'build', value: 'jenkins-hil-report-42' });
    const suiteCases = cases.filter(
      (c) =>
        c.labels.some((l: { name: string; value: string }) => l.name === 'target' && l.value === 'qemu-x86') &&
        c.name !== 'boot qemu-x86',
    );
    expect(suiteCases.map((c) => c.name).sort()).toEqual([
      'has the memory of its target file',
      'reaches the harness HTTP server from the target',
      'runs commands at the shell on its serial console, with their exit status',
      'runs the kernel it was booted with',
      'takes a file over SSH and gives the same bytes back',
    ]);
    expect(suiteCases.every((c) => c.status === 'passed')).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'widgets/summary.json'), 'utf8'));
    expect(summary.statistic).toMatchObject({ passed: 6, failed: 0, broken: 0 });
  }, 120_000);

  it('says what is missing when there are no results', async () => {
    const report = await hil(['report', '--results', join(results, 'nothing-here')]);
    expect(report.exitCode).toBe(2);
    expect(report.stderr).toMatch(/no allure-results under .*nothing-here: run a job first/);
  });
});
