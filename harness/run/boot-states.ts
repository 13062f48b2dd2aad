/**
 * The board's state during a job, as a small state machine:
 *
 *   off -> bootloader (firmware) -> kernel -> shell (booted, login done) -> suites
 *
 * Each transition is a named step (a `boot-state` event). States only move
 * forward (a boot may skip one it cannot see, such as a PC's firmware-to-kernel
 * hand-over); a failure or time-out makes the state 'unknown', and from
 * 'unknown' the only way on is power-off: the next action never starts from
 * a guess. A job starts in 'unknown' too, so its first power action is an off.
 */
import type { BootState } from '../core/boot.js';
import type { EventBus } from '../core/events.js';

const ORDER: readonly BootState[] = ['off', 'bootloader', 'kernel', 'shell', 'suites'];

export class BootStates {
  private current: BootState = 'unknown';

  constructor(private readonly onTransition: (from: BootState, to: BootState, reason: string) => void = () => {}) {}

  get state(): BootState {
    return this.current;
  }

  /** True while the board must be powered off before anything else is done with it. */
  get needsPowerOff(): boolean {
    return this.current !== 'off';
  }

  /** Power went off: from any state. */
  poweredOff(reason: string): void {
    this.move('off', reason);
  }

  /**
   * The board reached `to`. Moving backwards, or on from 'unknown' (anything
   * but power-off), is refused: it returns false and the state is unchanged.
   */
  enter(to: Exclude<BootState, 'off' | 'unknown'>, reason: string): boolean {
    if (this.current === to) return true;
    const from = ORDER.indexOf(this.current);
    if (this.current === 'unknown' || ORDER.indexOf(to) < from) return false;
    this.move(to, reason);
    return true;
  }

  /** A failure or time-out: nothing is known about the board any more. */
  failed(reason: string): void {
    this.move('unknown', reason);
  }

  private move(to: BootState, reason: string): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.onTransition(from, to, reason);
  }
}

/**
 * Follows a job's step events and moves the board's states: power off and on,
 * milestones that name the state they enter, the boot passing, suites, and
 * any failure. Returns the machine and a function that stops following.
 */
export function followBootStates(
  bus: EventBus,
  milestones: readonly { name: string; enters?: BootState }[],
): { states: BootStates; stop: () => void } {
  const states = new BootStates((from, to, reason) => bus.emit({ type: 'boot-state', from, to, reason }));
  const enters = new Map(milestones.filter((m) => m.enters).map((m) => [m.name, m.enters!]));
  const stop = bus.subscribe((event) => {
    switch (event.type) {
      case 'power':
        if (!event.ok) {
          states.failed(`power ${event.action} failed`);
          return;
        }
        if (event.action === 'off' || event.action === 'cycle') states.poweredOff(`power ${event.action}`);
        if (event.action === 'on' || event.action === 'cycle')
          states.enter('bootloader', `power ${event.action}: firmware starts`);
        return;
      case 'milestone': {
        const to = enters.get(event.name);
        if (to && to !== 'off' && to !== 'unknown') states.enter(to, `milestone '${event.name}'`);
        return;
      }
      case 'stage':
        if (event.stage === 'boot' && event.state === 'end') states.enter('shell', 'boot passed');
        if (event.stage === 'suites' && event.state === 'start') states.enter('suites', 'suites start');
        return;
      case 'milestone-timeout':
        return states.failed(`milestone '${event.name}' timed out`);
      case 'failure-pattern':
        return states.failed(event.name);
      case 'bootloader-command':
        if (event.result === 'failed') states.failed(`bootloader command '${event.command}' failed`);
        return;
      case 'run-end':
        // A board powered off at the end is known to be off; otherwise a run that did not pass leaves it unknown.
        if (event.outcome !== 'passed' && states.state !== 'off') states.failed(`run ${event.outcome}`);
        return;
    }
  });
  return { states, stop };
}
