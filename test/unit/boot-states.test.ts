import { describe, expect, it } from 'vitest';
import { EventBus } from '../../harness/core/events.js';
import { timelineRows } from '../../harness/report/timeline.js';
import { BootStates, followBootStates } from '../../harness/run/boot-states.js';

const recording = () => {
  const moves: string[] = [];
  return { moves, states: new BootStates((from, to, reason) => moves.push(`${from} -> ${to}: ${reason}`)) };
};

describe('BootStates', () => {
  it('starts unknown, so the first thing to do with the board is to power it off', () => {
    const { states } = recording();
    expect(states.state).toBe('unknown');
    expect(states.needsPowerOff).toBe(true);
  });

  it('goes off -> bootloader -> kernel -> shell -> suites, one named step each', () => {
    const { moves, states } = recording();
    states.poweredOff('power cycle');
    expect(states.needsPowerOff).toBe(false);
    expect(states.enter('bootloader', 'power on')).toBe(true);
    expect(states.enter('kernel', "milestone 'Starting kernel'")).toBe(true);
    expect(states.enter('shell', 'login done')).toBe(true);
    expect(states.enter('suites', 'suites start')).toBe(true);
    expect(moves).toEqual([
      'unknown -> off: power cycle',
      'off -> bootloader: power on',
      "bootloader -> kernel: milestone 'Starting kernel'",
      'kernel -> shell: login done',
      'shell -> suites: suites start',
    ]);
  });

  it('may skip a state it cannot see (a PC firmware straight to a shell) but never goes back', () => {
    const { moves, states } = recording();
    states.poweredOff('off');
    states.enter('bootloader', 'on');
    expect(states.enter('shell', 'booted')).toBe(true);
    expect(states.enter('kernel', 'late kernel banner')).toBe(false);
    expect(states.state).toBe('shell');
    expect(moves).toEqual(['unknown -> off: off', 'off -> bootloader: on', 'bootloader -> shell: booted']);
  });

  it('after a failure the state is unknown and only power-off leads on', () => {
    const { moves, states } = recording();
    states.poweredOff('off');
    states.enter('bootloader', 'on');
    states.failed("milestone 'DHCP lease' timed out");
    expect(states.state).toBe('unknown');
    expect(states.needsPowerOff).toBe(true);
    expect(states.enter('bootloader', 'a guess')).toBe(false);
    expect(states.enter('shell', 'a guess')).toBe(false);
    expect(states.state).toBe('unknown');
    states.poweredOff('power off');
    expect(states.state).toBe('off');
    expect(moves.slice(2)).toEqual([
      "bootloader -> unknown: milestone 'DHCP lease' timed out",
      'unknown -> off: power off',
    ]);
  });
});

describe('followBootStates', () => {
  const milestones = [
    { name: 'U-Boot banner', enters: 'bootloader' as const },
    { name: 'Starting kernel', enters: 'kernel' as const },
    { name: 'Linux version' },
    { name: 'installer', enters: 'shell' as const },
  ];
  const transitions = (bus: EventBus) => {
    const seen: string[] = [];
    bus.subscribe((e) => void (e.type === 'boot-state' && seen.push(`${e.from}->${e.to}`)));
    return seen;
  };

  it('turns power events and milestones that name a state into boot-state events', () => {
    const bus = new EventBus();
    const seen = transitions(bus);
    const { stop } = followBootStates(bus, milestones);
    bus.emit({ type: 'power', action: 'cycle', driver: 'qemu', ok: true, durationMs: 1 });
    bus.emit({ type: 'milestone', name: 'U-Boot banner', durationMs: 1 });
    bus.emit({ type: 'milestone', name: 'Starting kernel', durationMs: 1 });
    bus.emit({ type: 'milestone', name: 'Linux version', durationMs: 1 });
    bus.emit({ type: 'milestone', name: 'installer', durationMs: 1 });
    bus.emit({ type: 'stage', stage: 'suites', state: 'start' });
    bus.emit({ type: 'power', action: 'off', driver: 'qemu', ok: true, durationMs: 1 });
    stop();
    expect(seen).toEqual([
      'unknown->off',
      'off->bootloader',
      'bootloader->kernel',
      'kernel->shell',
      'shell->suites',
      'suites->off',
    ]);
  });

  it('a failed bootloader command makes the state unknown; a run that fails with the board off leaves it off', () => {
    const bus = new EventBus();
    const seen = transitions(bus);
    const { states, stop } = followBootStates(bus, milestones);
    bus.emit({ type: 'power', action: 'cycle', driver: 'qemu', ok: true, durationMs: 1 });
    bus.emit({
      type: 'bootloader-command',
      command: 'tftpboot ${kernel_addr_r} nosuchfile',
      result: 'failed',
      durationMs: 1,
      detail: "TFTP error: 'File not found' (1)",
    });
    expect(states.state).toBe('unknown');
    bus.emit({ type: 'power', action: 'off', driver: 'qemu', ok: true, durationMs: 1 });
    bus.emit({ type: 'run-end', outcome: 'failed', exitCode: 1 });
    stop();
    expect(seen).toEqual(['unknown->off', 'off->bootloader', 'bootloader->unknown', 'unknown->off']);
  });
  it('a failed power action makes the state unknown, and a bootdev step moves nothing', () => {
    const bus = new EventBus();
    const seen = transitions(bus);
    const { states, stop } = followBootStates(bus, milestones);
    bus.emit({ type: 'power', action: 'cycle', driver: 'ipmi', ok: true, durationMs: 1 });
    bus.emit({ type: 'power', action: 'bootdev', driver: 'ipmi', ok: true, durationMs: 1 });
    bus.emit({ type: 'power', action: 'off', driver: 'ipmi', ok: false, error: 'BMC gone', durationMs: 1 });
    stop();
    expect(states.state).toBe('unknown');
    expect(seen).toEqual(['unknown->off', 'off->bootloader', 'bootloader->unknown']);
  });
});

describe('boot states on the timeline', () => {
  it('draws each state from its entry to the next transition, none for off and unknown', () => {
    const bus = new EventBus(0);
    const at = (t: number, from: string, to: string, reason: string) => ({
      ...bus.emit({ type: 'boot-state', from: from as 'off', to: to as 'off', reason }),
      t,
    });
    const rows = timelineRows([
      at(100, 'unknown', 'off', 'power cycle'),
      at(100, 'off', 'bootloader', 'power cycle: firmware starts'),
      at(9000, 'bootloader', 'kernel', "milestone 'Starting kernel'"),
      at(12000, 'kernel', 'unknown', 'kernel panic'),
      at(12500, 'unknown', 'off', 'power off'),
    ]);
    expect(rows).toEqual([
      { label: 'state: bootloader', start: 100, end: 9000, kind: 'state', note: 'power cycle: firmware starts' },
      { label: 'state: kernel', start: 9000, end: 12000, kind: 'state', note: "milestone 'Starting kernel'" },
    ]);
  });
});
