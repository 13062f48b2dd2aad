import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BootRecord } from '../../harness/report/boot-record.js';
import { renderJunit } from '../../harness/report/junit.js';

const consoleLines = [
  '[    1.000] <6>Linux version 6.1 & friends',
  'CDATA end ]]> inside',
  'bell\x07 rang',
  'VFS: Unable to mount root fs',
].join('\n');

const record: BootRecord = {
  target: 'qemu-x86',
  image: 'busybox & <co>',
  runId: 'run-"42"',
  startedAt: new Date('2024-05-06T07:08:09.010Z'),
  durationMs: 12_345,
  milestones: [
    { name: 'DHCP lease', status: 'passed', durationMs: 1_500, t: 1_500 },
    { name: 'kernel <fetched>', status: 'passed', durationMs: 250, t: 1_750 },
    {
      name: 'Linux version',
      status: 'failed',
      durationMs: 3_000,
      type: 'kernel panic',
      message: 'kernel panic: Kernel panic - not syncing: <VFS> & "root"\x07',
      detail: consoleLines,
    },
    { name: 'init started', status: 'skipped', message: 'not reached' },
    { name: 'prompt', status: 'skipped', message: 'not reached' },
  ],
  artifacts: { 'console log': '/results/run-42/console.log', junit: '/results/run-42/junit.xml' },
  provenance: [
    { role: 'kernel', name: 'vmlinuz', source: '/ws/out/bzImage', bytes: 9_437_184, sha256: 'ab'.repeat(32) },
    { role: 'file', name: 'preseed.cfg', source: '/ws/out/pre"seed.cfg', bytes: 12, sha256: 'cd'.repeat(32) },
  ],
};

const errorRecord: BootRecord = {
  ...record,
  image: 'busybox',
  runId: 'run-43',
  durationMs: 999,
  milestones: [
    { name: 'DHCP lease', status: 'error', durationMs: 999, type: 'lab fault', message: 'dnsmasq exited', detail: '' },
    { name: 'kernel fetched', status: 'skipped', message: 'not reached' },
  ],
  artifacts: {},
  provenance: [],
};

function xmllint(xml: string): { status: number | null; stderr: string } {
  const result = spawnSync('xmllint', ['--noout', '-'], { input: xml, encoding: 'utf8' });
  if (result.error) {
    throw new Error(`xmllint could not be run (${result.error.message}); install libxml2-utils to check the JUnit XML`);
  }
  return { status: result.status, stderr: result.stderr };
}

/** The schema Jenkins' tooling publishes for its JUnit format (test/support/junit.xsd). */
const JENKINS_JUNIT_SCHEMA = fileURLToPath(new URL('../support/junit.xsd', import.meta.url));

function schemaCheck(xml: string): { status: number | null; stderr: string } {
  const result = spawnSync('xmllint', ['--noout', '--schema', JENKINS_JUNIT_SCHEMA, '-'], {
    input: xml,
    encoding: 'utf8',
  });
  if (result.error) throw new Error(`xmllint could not be run: ${result.error.message}`);
  return { status: result.status, stderr: result.stderr };
}

/** Extracts one XPath string value with xmllint. */
function xpath(xml: string, expression: string): string {
  const result = spawnSync('xmllint', ['--xpath', expression, '-'], { input: xml, encoding: 'utf8' });
  if (result.error) throw new Error(`xmllint could not be run: ${result.error.message}`);
  expect(result.status, result.stderr).toBe(0);
  // xmllint ends its output with a newline of its own.
  return result.stdout.replace(/\n$/, '');
}

describe('renderJunit', () => {
  const xml = renderJunit(record);

  it('is well-formed XML', () => {
    const lint = xmllint(xml);
    expect(lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it('is well-formed XML for an errored boot too', () => {
    const lint = xmllint(renderJunit(errorRecord));
    expect(lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it("validates against the schema Jenkins' tooling publishes for JUnit, for a failed and an errored boot", () => {
    expect(schemaCheck(xml)).toEqual({ status: 0, stderr: '- validates\n' });
    expect(schemaCheck(renderJunit(errorRecord))).toEqual({ status: 0, stderr: '- validates\n' });
  });

  it('counts tests, failures, errors and skipped on testsuite; testsuites has no skipped (the schema allows none)', () => {
    const totals = 'tests="5" failures="1" errors="0" skipped="2" time="12.345"';
    expect(xml).toContain('<testsuites name="pxe-hil" tests="5" failures="1" errors="0" time="12.345">');
    expect(xml).toContain(`<testsuite name="boot.qemu-x86" ${totals} timestamp="2024-05-06T07:08:09.010Z">`);
    const errors = renderJunit(errorRecord);
    expect(errors).toContain('<testsuites name="pxe-hil" tests="2" failures="0" errors="1" time="0.999">');
  });

  it('names the testcases in order with their times', () => {
    const testcases = [...xml.matchAll(/<testcase classname="boot\.qemu-x86" name="([^"]*)" time="([^"]*)"/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(testcases).toEqual([
      '01 DHCP lease 1.500',
      '02 kernel &lt;fetched&gt; 0.250',
      '03 Linux version 3.000',
      '04 init started 0.000',
      '05 prompt 0.000',
    ]);
  });

  it('escapes properties and names', () => {
    expect(xml).toContain('<property name="target" value="qemu-x86"/>');
    expect(xml).toContain('<property name="image" value="busybox &amp; &lt;co&gt;"/>');
    expect(xml).toContain('<property name="run" value="run-&quot;42&quot;"/>');
    expect(xml).toContain('<testcase classname="boot.qemu-x86" name="01 DHCP lease" time="1.500"/>');
    expect(xml).toContain('<testcase classname="boot.qemu-x86" name="02 kernel &lt;fetched&gt;" time="0.250"/>');
  });

  it("carries each of the job's own files: its SHA-256, size and source", () => {
    const property = (name: string) => xpath(xml, `string(//property[@name="${name}"]/@value)`);
    expect(property('artifact.kernel.sha256')).toBe('ab'.repeat(32));
    expect(property('artifact.kernel.bytes')).toBe('9437184');
    expect(property('artifact.kernel.source')).toBe('/ws/out/bzImage');
    expect(property('artifact.file.preseed.cfg.sha256')).toBe('cd'.repeat(32));
    expect(property('artifact.file.preseed.cfg.source')).toBe('/ws/out/pre"seed.cfg');
    expect(xpath(xml, 'count(//property)')).toBe('9');
    expect(xpath(renderJunit(errorRecord), 'count(//property)')).toBe('3');
  });

  it('reads back the escaped values exactly through an XML parser', () => {
    expect(xpath(xml, 'string(//property[@name="image"]/@value)')).toBe('busybox & <co>');
    expect(xpath(xml, 'string(//property[@name="run"]/@value)')).toBe('run-"42"');
    expect(xpath(xml, 'string(//testcase[2]/@name)')).toBe('02 kernel <fetched>');
    expect(xpath(xml, 'count(//testcase)')).toBe('5');
    expect(xpath(xml, 'count(//testcase/skipped)')).toBe('2');
    expect(xpath(xml, 'count(//testcase/failure)')).toBe('1');
  });

  it('puts the failure on the failed milestone, with the console lines in CDATA', () => {
    expect(xpath(xml, 'string(//testcase[failure]/@name)')).toBe('03 Linux version');
    expect(xpath(xml, 'string(//testcase[failure]/@time)')).toBe('3.000');
    expect(xpath(xml, 'string(//failure/@type)')).toBe('kernel panic');
    // The control character is dropped; everything else survives escaping.
    expect(xpath(xml, 'string(//failure/@message)')).toBe('kernel panic: Kernel panic - not syncing: <VFS> & "root"');
    expect(xpath(xml, 'string(//failure)')).toBe(
      'Last console lines:\n[    1.000] <6>Linux version 6.1 & friends\nCDATA end ]]> inside\nbell rang\nVFS: Unable to mount root fs',
    );
    expect(xml).not.toContain('\x07');
  });

  it('marks not-reached milestones skipped', () => {
    expect(xml).toContain(
      [
        '    <testcase classname="boot.qemu-x86" name="04 init started" time="0.000">',
        '      <skipped message="not reached"/>',
        '    </testcase>',
      ].join('\n'),
    );
    expect(xpath(xml, 'string(//testcase[5]/skipped/@message)')).toBe('not reached');
  });

  it('renders an error with its message as the body when there is no console detail', () => {
    const errors = renderJunit(errorRecord);
    expect(errors).toContain(
      [
        '    <testcase classname="boot.qemu-x86" name="01 DHCP lease" time="0.999">',
        '      <error message="dnsmasq exited" type="lab fault"><![CDATA[dnsmasq exited]]></error>',
        '    </testcase>',
      ].join('\n'),
    );
    expect(errors).toContain('    <system-out><![CDATA[]]></system-out>');
  });

  it('lists the artifacts in system-out', () => {
    expect(xpath(xml, 'string(//system-out)')).toBe(
      'console log: /results/run-42/console.log\njunit: /results/run-42/junit.xml',
    );
  });

  it('starts with the XML declaration and ends with a newline', () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(xml.endsWith('</testsuites>\n')).toBe(true);
  });

  it('names where the job ran: host, pool and Jenkins agent, each only when known', () => {
    const placed = renderJunit({ ...record, host: 'lab-2', pool: 'x86-server', jenkinsNode: 'hil-lab-2 & co' });
    const property = (name: string) => xpath(placed, `string(//property[@name="${name}"]/@value)`);
    expect(property('host')).toBe('lab-2');
    expect(property('target')).toBe('qemu-x86');
    expect(property('pool')).toBe('x86-server');
    expect(property('jenkins.node')).toBe('hil-lab-2 & co');
    expect(xpath(placed, 'count(//property)')).toBe('12');
    expect(xpath(renderJunit({ ...record, host: 'lab-2' }), 'count(//property)')).toBe('10');
  });
});
