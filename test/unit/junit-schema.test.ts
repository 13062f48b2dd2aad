/**
 * The JUnit schema check the system tests run on every junit.xml and
 * suites-junit.xml (junitProblems, test/support/junit.xsd, with xmllint):
 * it accepts what renderJunit writes for every milestone status, and it
 * rejects documents that break the schema, each with xmllint's own complaint.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BootRecord } from '../../harness/report/boot-record.js';
import { renderJunit } from '../../harness/report/junit.js';
import { junitProblems } from '../support/hil.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let dir: string;

beforeAll(() => {
  dir = files.tempDir('hil-junit-schema-');
});

/** junitProblems of `xml`, as the list of xmllint's complaints without file and line. */
function problemsOf(xml: string): string[] {
  const path = join(dir, 'junit.xml');
  writeFileSync(path, xml);
  const problems = junitProblems(path);
  if (problems === '') return [];
  return problems
    .split('\n')
    .filter((line) => line.startsWith(`${path}:`))
    .map((line) => line.replace(/^[^:]+:\d+: /, ''));
}

const record: BootRecord = {
  target: 'qemu-x86',
  image: 'busybox',
  runId: 'run-42',
  startedAt: new Date('2024-05-06T07:08:09.010Z'),
  durationMs: 12_345,
  milestones: [
    { name: 'DHCP lease', status: 'passed', durationMs: 1_500, t: 1_500 },
    {
      name: 'Linux version',
      status: 'failed',
      durationMs: 3_000,
      type: 'kernel panic',
      message: 'kernel panic: VFS',
      detail: 'VFS: Unable to mount root fs',
    },
    {
      name: 'DHCP lease again',
      status: 'error',
      durationMs: 10,
      type: 'lab fault',
      message: 'dnsmasq exited',
      detail: '',
    },
    { name: 'init started', status: 'skipped', message: 'not reached' },
  ],
  artifacts: { 'console log': '/results/run-42/console.log' },
  provenance: [
    { role: 'kernel', name: 'vmlinuz', source: '/ws/out/bzImage', bytes: 9_437_184, sha256: 'ab'.repeat(32) },
  ],
};

const suite = (testcases: string, attributes = '') =>
  [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pxe-hil" tests="1" failures="0" errors="0" time="1.000"${attributes}>`,
    '  <testsuite name="boot.x" tests="1" failures="0" errors="0" skipped="0" time="1.000" timestamp="2024-05-06T07:08:09.010Z">',
    `    ${testcases}`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');

const PASSED = '<testcase classname="boot.x" name="01 DHCP lease" time="1.000"/>';

describe('junitProblems', () => {
  it("accepts renderJunit's document with passed, failed, errored and skipped milestones", () => {
    expect(problemsOf(renderJunit(record))).toEqual([]);
    expect(problemsOf(suite(PASSED))).toEqual([]);
  });

  it.each([
    [
      'an attribute <testsuites> does not have',
      suite(PASSED, ' color="red"'),
      "element testsuites: Schemas validity error : Element 'testsuites', attribute 'color': The attribute 'color' is not allowed.",
    ],
    [
      'a testcase without a name',
      suite('<testcase classname="boot.x" time="1.000"/>'),
      "element testcase: Schemas validity error : Element 'testcase': The attribute 'name' is required but missing.",
    ],
    [
      "'skipped' on testsuites, which Jenkins' schema does not allow there",
      suite(PASSED, ' skipped="0"'),
      "element testsuites: Schemas validity error : Element 'testsuites', attribute 'skipped': The attribute 'skipped' is not allowed.",
    ],
    [
      'a testsuite without its test count',
      suite(PASSED).replace('<testsuite name="boot.x" tests="1"', '<testsuite name="boot.x"'),
      "element testsuite: Schemas validity error : Element 'testsuite': The attribute 'tests' is required but missing.",
    ],
    [
      'a testsuite time that is not a number of seconds',
      suite(PASSED).replace('skipped="0" time="1.000"', 'skipped="0" time="soon"'),
      "element testsuite: Schemas validity error : Element 'testsuite', attribute 'time': [facet 'pattern'] The value 'soon' is not accepted by the pattern '(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\\.[0-9]*)?'.",
    ],
    [
      'a testsuite inside a testcase',
      suite('<testcase classname="boot.x" name="01 x" time="1.000"><testsuite/></testcase>'),
      "element testsuite: Schemas validity error : Element 'testsuite': This element is not expected.",
    ],
    [
      'a root element that is not testsuites or testsuite',
      '<?xml version="1.0"?>\n<results/>\n',
      "element results: Schemas validity error : Element 'results': No matching global declaration available for the validation root.",
    ],
  ])('rejects %s', (_, xml, complaint) => {
    expect(problemsOf(xml)).toEqual([complaint]);
  });

  it('rejects a document that is not well-formed', () => {
    const problems = problemsOf(suite(PASSED).replace('</testsuite>', ''));
    expect(problems[0]).toBe('parser error : Opening and ending tag mismatch: testsuite line 3 and testsuites');
  });
});
