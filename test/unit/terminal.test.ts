import { describe, expect, it } from 'vitest';
import { EventBus, type StepEvent, type StepEventBody } from '../../harness/core/events.js';
import { attachTerminalReporter, formatEvent } from '../../harness/report/terminal.js';

const at = '2024-05-06T07:08:09.010Z';
const event = (body: StepEventBody, t = 1_234): StepEvent => ({ ...body, t, at }) as StepEvent;

describe('formatEvent', () => {
  it.each<[StepEventBody, string]>([
    [
      {
        type: 'run-start',
        runId: 'run-1',
        jobId: 'ab12cd34',
        target: 'qemu-x86',
        image: 'busybox',
        resultsDir: '/r/run-1',
      },
      '[   1.234] run       run-1: target qemu-x86, image busybox, results in /r/run-1',
    ],
    [{ type: 'stage', stage: 'pxe', state: 'start' }, '[   1.234] pxe       start'],
    [{ type: 'stage', stage: 'pxe', state: 'start', detail: 'dnsmasq on br0' }, '[   1.234] pxe       dnsmasq on br0'],
    [{ type: 'stage', stage: 'images', state: 'end', detail: 'busybox ready' }, '[   1.234] images    busybox ready'],
    [
      { type: 'power', action: 'on', driver: 'qemu', ok: true, durationMs: 42.4 },
      '[   1.234] power     on via qemu: done (42 ms)',
    ],
    [
      { type: 'power', action: 'bootdev', driver: 'ipmi 10.0.0.5', ok: true, durationMs: 310 },
      '[   1.234] power     bootdev via ipmi 10.0.0.5: pxe (310 ms)',
    ],
    [
      {
        type: 'power',
        action: 'off',
        driver: 'command',
        ok: false,
        error: 'power off command failed (exit 4)',
        durationMs: 1500,
      },
      '[   1.234] power     off via command: failed: power off command failed (exit 4) (1.50 s)',
    ],
    [
      { type: 'dhcp', message: 'DHCPOFFER', mac: '52:54:00:a1:00:01', ip: '10.42.0.10' },
      '[   1.234] dhcp      DHCPOFFER 52:54:00:a1:00:01 10.42.0.10',
    ],
    [
      { type: 'dhcp', message: 'DHCPDISCOVER', mac: '52:54:00:99:99:99', detail: 'ignored' },
      '[   1.234] dhcp      DHCPDISCOVER 52:54:00:99:99:99 ignored',
    ],
    [
      { type: 'lease', mac: '52:54:00:a1:00:01', ip: '10.42.0.10', hostname: 'qemu-x86' },
      '[   1.234] lease     10.42.0.10 to 52:54:00:a1:00:01 (qemu-x86)',
    ],
    [
      { type: 'lease', mac: '52:54:00:a1:00:01', ip: '10.42.0.10' },
      '[   1.234] lease     10.42.0.10 to 52:54:00:a1:00:01',
    ],
    [
      {
        type: 'file-served',
        protocol: 'tftp',
        path: 'pxelinux.0',
        role: 'bootloader',
        client: '10.42.0.10',
        bytes: 42_000,
        durationMs: 120,
      },
      '[   1.234] tftp      pxelinux.0 to 10.42.0.10: 42000 bytes in 120 ms',
    ],
    [
      {
        type: 'file-served',
        protocol: 'http',
        path: 'linux',
        role: 'kernel',
        client: '10.42.0.10',
        bytes: 8_000_000,
        durationMs: 2_000,
      },
      '[   1.234] http      linux to 10.42.0.10: 8000000 bytes in 2.00 s 4.0 MB/s',
    ],
    [
      { type: 'file-failed', protocol: 'tftp', path: 'nope', client: '10.42.0.10', reason: 'not in the file table' },
      '[   1.234] tftp      nope to 10.42.0.10: not in the file table',
    ],
    [{ type: 'milestone', name: 'DHCP lease', durationMs: 3_456 }, '[   1.234] milestone DHCP lease (+3.46 s)'],
    [
      { type: 'failure-pattern', name: 'kernel panic', line: 'Kernel panic - not syncing: x', lastLines: ['a'] },
      '[   1.234] FAILED    kernel panic: Kernel panic - not syncing: x',
    ],
    [{ type: 'console', state: 'connected', detail: 'qemu socket' }, '[   1.234] console   connected (qemu socket)'],
    [{ type: 'command', command: 'uname -a', exitCode: 0, durationMs: 5 }, '[   1.234] command   uname -a -> 0 (5 ms)'],
    [
      { type: 'command', command: 'sleep 99', exitCode: null, durationMs: 1_000 },
      '[   1.234] command   sleep 99 -> killed (1.00 s)',
    ],
    [{ type: 'warning', message: 'KVM not available, using TCG' }, '[   1.234] warning   KVM not available, using TCG'],
    [
      {
        type: 'pool',
        pool: 'x86-server',
        state: 'waiting',
        holders: [
          { target: 'b1', holder: 'pid 7, jenkins-x-1, since 2024-05-06T07:00:00.000Z' },
          { target: 'b2', holder: 'another job' },
        ],
        timeoutS: 600,
      },
      '[   1.234] pool      every target of pool x86-server is held (b1: pid 7, jenkins-x-1, since 2024-05-06T07:00:00.000Z; b2: another job); waiting up to 600 s for the first free one',
    ],
    [
      { type: 'pool', pool: 'x86-server', state: 'taken', target: 'b2' },
      '[   1.234] pool      took target b2 from pool x86-server',
    ],
    [
      {
        type: 'run-start',
        runId: 'run-1',
        jobId: 'ab12cd34',
        target: 'b2',
        image: 'busybox',
        resultsDir: '/r/run-1',
        pool: 'x86-server',
      },
      '[   1.234] run       run-1: target b2 (pool x86-server), image busybox, results in /r/run-1',
    ],
    [
      { type: 'run-end', outcome: 'failed', exitCode: 1, reason: 'kernel panic' },
      '[   1.234] result    FAILED (exit 1): kernel panic',
    ],
    [{ type: 'run-end', outcome: 'passed', exitCode: 0 }, '[   1.234] result    PASSED (exit 0)'],
  ])('renders %j on one line', (body, expected) => {
    const text = formatEvent(event(body));
    expect(text).toBe(expected);
    expect(text).not.toContain('\n');
  });

  it('pads the time stamp and widens it for long runs', () => {
    expect(formatEvent(event({ type: 'warning', message: 'w' }, 0))).toBe('[   0.000] warning   w');
    expect(formatEvent(event({ type: 'warning', message: 'w' }, 12_345_678))).toBe('[12345.678] warning   w');
  });

  it('renders nothing for a file request or the end of a stage without detail', () => {
    expect(
      formatEvent(event({ type: 'file-requested', protocol: 'tftp', path: 'pxelinux.0', client: '10.42.0.10' })),
    ).toBeUndefined();
    expect(formatEvent(event({ type: 'stage', stage: 'pxe', state: 'end' }))).toBeUndefined();
  });

  it('renders a milestone timeout with the last console lines indented below it', () => {
    expect(
      formatEvent(
        event({
          type: 'milestone-timeout',
          name: 'kernel fetched',
          timeoutMs: 60_000,
          lastLines: ['iPXE 1.21', 'No configuration methods succeeded'],
        }),
      ),
    ).toBe(
      "[   1.234] FAILED    milestone 'kernel fetched' not reached within 60.00 s; last console lines:\n" +
        '             | iPXE 1.21\n' +
        '             | No configuration methods succeeded',
    );
  });
});

describe('attachTerminalReporter', () => {
  it('writes one line per rendered event and nothing for the others, until detached', () => {
    const bus = new EventBus();
    const written: string[] = [];
    const detach = attachTerminalReporter(bus, (t) => written.push(t));
    bus.emit({ type: 'warning', message: 'one' });
    bus.emit({ type: 'file-requested', protocol: 'http', path: 'linux', client: '10.42.0.10' });
    bus.emit({ type: 'warning', message: 'two' });
    detach();
    bus.emit({ type: 'warning', message: 'three' });
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(/^\[ *\d+\.\d{3}\] warning {3}one\n$/);
    expect(written[1]).toMatch(/^\[ *\d+\.\d{3}\] warning {3}two\n$/);
  });
});
