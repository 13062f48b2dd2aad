import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearSecrets, registerSecret } from '../../harness/core/redact.js';
import { writeAllureResults } from '../../harness/report/allure.js';
import type { BootRecord } from '../../harness/report/boot-record.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'allure-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const record: BootRecord = {
  target: 'qemu-x86',
  image: 'busybox',
  runId: 'run-7',
  startedAt: new Date('2026-01-01T00:00:00.000Z'),
  durationMs: 9000,
  milestones: [
    { name: 'DHCP lease', status: 'passed', durationMs: 2000, t: 2500 },
    {
      name: 'init started',
      status: 'failed',
      durationMs: 3000,
      type: 'kernel panic',
      message: 'kernel panic: VFS',
      detail: 'line 1\nline 2',
    },
    { name: 'shell prompt', status: 'skipped', message: 'not reached' },
  ],
  artifacts: {},
  provenance: [],
};

describe('Allure results of a boot', () => {
  it('labels the result and the environment with the host, the pool and the Jenkins agent', () => {
    const results = join(dir, 'allure-results');
    const placed = { ...record, host: 'lab-2', pool: 'x86-server', jenkinsNode: 'hil-lab-2' };
    const uuid = writeAllureResults(placed, results, [], {});
    const result = JSON.parse(readFileSync(join(results, `${uuid}-result.json`), 'utf8'));
    const labels = (result.labels as { name: string; value: string }[]).filter((l) =>
      ['host', 'pool', 'jenkins.node'].includes(l.name),
    );
    expect(labels).toEqual([
      { name: 'host', value: 'lab-2' },
      { name: 'pool', value: 'x86-server' },
      { name: 'jenkins.node', value: 'hil-lab-2' },
    ]);
    expect(readFileSync(join(results, 'environment.properties'), 'utf8')).toBe(
      'target=qemu-x86\nimage=busybox\nrun=run-7\nhost=lab-2\npool=x86-server\njenkins.node=hil-lab-2\n',
    );
  });

  it('writes one failed test with a step per milestone, labels and copied attachments', () => {
    const log = join(dir, 'console.log');
    writeFileSync(log, 'hello console\n');
    const results = join(dir, 'allure-results');
    const uuid = writeAllureResults(
      record,
      results,
      [
        { name: 'console log', path: log, type: 'text/plain' },
        { name: 'missing file', path: join(dir, 'nope.txt'), type: 'text/plain' },
      ],
      { BUILD_TAG: 'jenkins-x-1', BUILD_URL: 'http://jenkins.invalid/job/x/1/' },
    );
    const result = JSON.parse(readFileSync(join(results, `${uuid}-result.json`), 'utf8'));
    expect(result.name).toBe('boot qemu-x86');
    expect(result.status).toBe('failed');
    expect(result.statusDetails).toEqual({ message: 'kernel panic: VFS' });
    expect(result.steps.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['DHCP lease', 'passed'],
      ['init started', 'failed'],
      ['shell prompt', 'skipped'],
    ]);
    expect(result.steps[0]).toMatchObject({
      start: Date.parse('2026-01-01T00:00:00.500Z'),
      stop: Date.parse('2026-01-01T00:00:02.500Z'),
    });
    expect(result.steps[1].statusDetails).toEqual({ message: 'kernel panic: VFS', trace: 'line 1\nline 2' });
    expect(result.labels).toEqual(
      expect.arrayContaining([
        { name: 'target', value: 'qemu-x86' },
        { name: 'image', value: 'busybox' },
        { name: 'build', value: 'jenkins-x-1' },
      ]),
    );
    expect(result.attachments).toHaveLength(1);
    expect(readFileSync(join(results, result.attachments[0].source), 'utf8')).toBe('hello console\n');
    expect(JSON.parse(readFileSync(join(results, 'executor.json'), 'utf8'))).toMatchObject({
      type: 'jenkins',
      buildName: 'jenkins-x-1',
    });
    expect(readdirSync(results).sort()).toHaveLength(4);
  });

  it('marks a lab fault as broken, not failed', () => {
    const broken: BootRecord = {
      ...record,
      milestones: [
        {
          name: 'DHCP lease',
          status: 'error',
          durationMs: 10,
          type: 'lab-fault',
          message: 'power on failed',
          detail: '',
        },
      ],
    };
    const uuid = writeAllureResults(broken, dir, [], {});
    expect(JSON.parse(readFileSync(join(dir, `${uuid}-result.json`), 'utf8')).status).toBe('broken');
  });

  it('masks a registered secret the board printed, in the result and its steps', () => {
    registerSecret('tok-5ecre7');
    try {
      const leaky: BootRecord = {
        ...record,
        milestones: [
          {
            name: 'init started',
            status: 'failed',
            durationMs: 3000,
            type: 'kernel panic',
            message: 'kernel panic: VFS: root tok-5ecre7',
            detail: 'Kernel command line: root=tok-5ecre7',
          },
        ],
      };
      const uuid = writeAllureResults(leaky, dir, [], {});
      const written = readFileSync(join(dir, `${uuid}-result.json`), 'utf8');
      expect(written).not.toContain('tok-5ecre7');
      const result = JSON.parse(written);
      expect(result.statusDetails).toEqual({ message: 'kernel panic: VFS: root ***' });
      expect(result.steps[0].statusDetails).toEqual({
        message: 'kernel panic: VFS: root ***',
        trace: 'Kernel command line: root=***',
      });
    } finally {
      clearSecrets();
    }
  });
});
