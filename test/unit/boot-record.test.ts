import { describe, expect, it } from 'vitest';
import type { MilestoneSpec } from '../../harness/core/boot.js';
import { EventBus } from '../../harness/core/events.js';
import { BootRecorder } from '../../harness/report/boot-record.js';

const milestones: MilestoneSpec[] = [
  { name: 'DHCP lease', event: 'lease', timeoutS: 60 },
  { name: 'kernel fetched', file: 'kernel', timeoutS: 60 },
  { name: 'Linux version', console: /Linux version \S+/, timeoutS: 60 },
  { name: 'init started', console: /Run \S+ as init process/, timeoutS: 60 },
];

const info = {
  target: 'qemu-x86',
  image: 'busybox',
  runId: 'run-1',
  milestones,
  artifacts: { 'console log': '/r/console.log' },
};

function setup() {
  const bus = new EventBus();
  const recorder = new BootRecorder(bus);
  return { bus, recorder };
}

describe('BootRecorder', () => {
  it('marks every milestone passed when all were reached', () => {
    const { bus, recorder } = setup();
    const events = milestones.map((m, i) => bus.emit({ type: 'milestone', name: m.name, durationMs: 100 * (i + 1) }));
    const record = recorder.finish(info);
    expect(record.milestones).toEqual(
      milestones.map((m, i) => ({ name: m.name, status: 'passed', durationMs: 100 * (i + 1), t: events[i]!.t })),
    );
    expect(record).toMatchObject({
      target: 'qemu-x86',
      image: 'busybox',
      runId: 'run-1',
      artifacts: { 'console log': '/r/console.log' },
    });
    expect(record.startedAt).toBe(bus.startedAt);
    expect(record.durationMs).toBeGreaterThanOrEqual(events[3]!.t);
  });

  it('fails the current milestone on a milestone timeout and skips the rest', () => {
    const { bus, recorder } = setup();
    const lease = bus.emit({ type: 'milestone', name: 'DHCP lease', durationMs: 1_200 });
    const timeout = bus.emit({
      type: 'milestone-timeout',
      name: 'kernel fetched',
      timeoutMs: 60_000,
      lastLines: ['iPXE 1.21', 'http://10.42.0.1/linux... Connection timed out'],
    });
    const record = recorder.finish(info);
    expect(record.milestones).toEqual([
      { name: 'DHCP lease', status: 'passed', durationMs: 1_200, t: lease.t },
      {
        name: 'kernel fetched',
        status: 'failed',
        durationMs: timeout.t - lease.t,
        type: 'milestone timeout',
        message: "milestone 'kernel fetched' not reached within 60 s",
        detail: 'iPXE 1.21\nhttp://10.42.0.1/linux... Connection timed out',
      },
      { name: 'Linux version', status: 'skipped', message: 'not reached' },
      { name: 'init started', status: 'skipped', message: 'not reached' },
    ]);
  });

  it('fails the current milestone on a failure pattern and names it', () => {
    const { bus, recorder } = setup();
    bus.emit({ type: 'milestone', name: 'DHCP lease', durationMs: 1_000 });
    const kernel = bus.emit({ type: 'milestone', name: 'kernel fetched', durationMs: 2_000 });
    const failure = bus.emit({
      type: 'failure-pattern',
      name: 'kernel panic',
      line: 'Kernel panic - not syncing: VFS: Unable to mount root fs',
      lastLines: [
        '[ 2.0] VFS: Cannot open root device',
        '[ 2.1] Kernel panic - not syncing: VFS: Unable to mount root fs',
      ],
    });
    const record = recorder.finish({
      ...info,
      abortedBy: { type: 'interrupt', message: 'must not win over the failure' },
    });
    expect(record.milestones.map((m) => `${m.name}: ${m.status}`)).toEqual([
      'DHCP lease: passed',
      'kernel fetched: passed',
      'Linux version: failed',
      'init started: skipped',
    ]);
    expect(record.milestones[2]).toEqual({
      name: 'Linux version',
      status: 'failed',
      durationMs: failure.t - kernel.t,
      type: 'kernel panic',
      message: 'kernel panic: Kernel panic - not syncing: VFS: Unable to mount root fs',
      detail: '[ 2.0] VFS: Cannot open root device\n[ 2.1] Kernel panic - not syncing: VFS: Unable to mount root fs',
    });
  });

  it('fails the first milestone when nothing was reached', () => {
    const { bus, recorder } = setup();
    const timeout = bus.emit({ type: 'milestone-timeout', name: 'DHCP lease', timeoutMs: 30_000, lastLines: [] });
    const record = recorder.finish(info);
    expect(record.milestones[0]).toEqual({
      name: 'DHCP lease',
      status: 'failed',
      durationMs: timeout.t,
      type: 'milestone timeout',
      message: "milestone 'DHCP lease' not reached within 30 s",
      detail: '',
    });
    expect(record.milestones.slice(1).map((m) => m.status)).toEqual(['skipped', 'skipped', 'skipped']);
  });

  it('makes the current milestone an error when the boot was aborted', () => {
    const { bus, recorder } = setup();
    const lease = bus.emit({ type: 'milestone', name: 'DHCP lease', durationMs: 900 });
    const record = recorder.finish({ ...info, abortedBy: { type: 'lab fault', message: 'dnsmasq exited (code 2)' } });
    expect(record.milestones.map((m) => `${m.name}: ${m.status}`)).toEqual([
      'DHCP lease: passed',
      'kernel fetched: error',
      'Linux version: skipped',
      'init started: skipped',
    ]);
    const current = record.milestones[1]!;
    expect(current).toMatchObject({
      name: 'kernel fetched',
      status: 'error',
      type: 'lab fault',
      message: 'dnsmasq exited (code 2)',
      detail: '',
    });
    expect(current.status === 'error' && current.durationMs).toBeGreaterThanOrEqual(0);
    expect(current.status === 'error' && current.durationMs).toBeLessThanOrEqual(record.durationMs - lease.t);
    expect(record.milestones[2]).toEqual({ name: 'Linux version', status: 'skipped', message: 'not reached' });
  });

  it('skips the unreached milestones without marking one failed when nothing stopped the boot', () => {
    const { bus, recorder } = setup();
    bus.emit({ type: 'milestone', name: 'DHCP lease', durationMs: 900 });
    bus.emit({ type: 'milestone', name: 'kernel fetched', durationMs: 100 });
    const record = recorder.finish(info);
    expect(record.milestones.map((m) => `${m.name}: ${m.status}`)).toEqual([
      'DHCP lease: passed',
      'kernel fetched: passed',
      'Linux version: skipped',
      'init started: skipped',
    ]);
  });

  it('ignores other events and stops listening when finished', () => {
    const { bus, recorder } = setup();
    bus.emit({ type: 'lease', mac: '52:54:00:a1:00:01', ip: '10.42.0.10' });
    bus.emit({ type: 'warning', message: 'slow' });
    bus.emit({ type: 'milestone', name: 'DHCP lease', durationMs: 900 });
    const record = recorder.finish(info);
    expect(record.milestones.map((m) => m.status)).toEqual(['passed', 'skipped', 'skipped', 'skipped']);
    // Events after finish() do not change a second record.
    bus.emit({ type: 'milestone', name: 'kernel fetched', durationMs: 5 });
    expect(recorder.finish(info).milestones.map((m) => m.status)).toEqual(['passed', 'skipped', 'skipped', 'skipped']);
  });
});
