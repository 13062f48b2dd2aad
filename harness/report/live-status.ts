/**
 * The live view on an interactive terminal: event lines scroll as usual, and
 * a status line at the bottom shows the stage, what the run waits for and for
 * how long, refreshed as time passes. In CI (CI or JENKINS_URL set, or no
 * TTY) it is not used: the plain lines alone read well in a Jenkins console.
 */
import type { EventBus, StepEvent } from '../core/events.js';
import { redact } from '../core/redact.js';
import { formatEvent } from './terminal.js';

export function wantsLiveView(
  stream: NodeJS.WriteStream = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return Boolean(stream.isTTY) && !env.CI && !env.JENKINS_URL && env.TERM !== 'dumb';
}

type State = { stage: string; waitingFor: string; since: number; milestones: number; total: number };

export function statusLine(state: State, now: number): string {
  const waited = ((now - state.since) / 1000).toFixed(1);
  const progress = state.total > 0 ? ` [${state.milestones}/${state.total}]` : '';
  return `  ${(now / 1000).toFixed(1).padStart(6)} s  ${state.stage}${progress}: ${state.waitingFor} (${waited} s)`;
}

export function attachLiveView(bus: EventBus, stream: NodeJS.WriteStream = process.stdout): () => void {
  const state: State = { stage: 'starting', waitingFor: 'set-up', since: 0, milestones: 0, total: 0 };
  let shown = false;
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  const draw = () => {
    clear();
    const columns = stream.columns ?? 100;
    stream.write(`\x1b[2m${redact(statusLine(state, bus.now())).slice(0, columns - 1)}\x1b[0m`);
    shown = true;
  };
  const update = (event: StepEvent) => {
    switch (event.type) {
      case 'stage':
        if (event.state === 'start')
          Object.assign(state, { stage: event.stage, waitingFor: event.detail ?? event.stage, since: event.t });
        if (event.stage === 'boot' && event.state === 'start')
          state.total = Number(/(\d+) milestones/.exec(event.detail ?? '')?.[1] ?? 0);
        break;
      case 'milestone':
        Object.assign(state, {
          milestones: state.milestones + 1,
          waitingFor: `reached '${event.name}', waiting for the next milestone`,
          since: event.t,
        });
        break;
      case 'lease':
        state.waitingFor = `lease ${event.ip}: waiting for the boot files`;
        break;
      default:
        break;
    }
  };
  const unsubscribe = bus.subscribe((event) => {
    update(event);
    const text = formatEvent(event);
    if (text !== undefined) {
      clear();
      stream.write(`${redact(text)}\n`);
    }
    if (event.type === 'run-end') stop();
    else draw();
  });
  const timer = setInterval(draw, 250);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    unsubscribe();
    clear();
  };
  return stop;
}
