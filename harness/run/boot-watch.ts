/**
 * Waits for a boot to pass its milestones, in order, each within its own
 * time-out (counted from the previous milestone), and stops at once on a
 * failure pattern. Milestones are fed from the console and from the PXE
 * and NFS servers' events; each one reached is emitted as a step event.
 */
import { MilestoneWatcher, type WatchResult } from '../console/milestone-watcher.js';
import type { ConsoleHub } from '../console/console-hub.js';
import type { FailurePattern, MilestoneSpec } from '../core/boot.js';
import { Deadline } from '../core/deadline.js';
import type { EventBus } from '../core/events.js';

export type BootFailure =
  | { kind: 'timeout'; milestone: MilestoneSpec; timeoutMs: number; lastLines: string[] }
  | { kind: 'pattern'; pattern: FailurePattern; line: string; lastLines: string[] };

export type BootResult = { passed: true } | { passed: false; failure: BootFailure };

export async function watchBoot(options: {
  milestones: readonly MilestoneSpec[];
  failurePatterns: readonly FailurePattern[];
  console: ConsoleHub;
  bus: EventBus;
  timeoutScale: number;
  signal: AbortSignal;
  /** For a milestone `{ ssh: port }`: resolves with the server's identification line once the board's SSH server answers. */
  sshAnswers?: (port: number, signal: AbortSignal) => Promise<string>;
}): Promise<BootResult> {
  const { bus, console: hub, signal } = options;
  const watcher = new MilestoneWatcher(options.milestones, options.failurePatterns);
  let settle: (result: BootResult) => void = () => {};
  const outcome = new Promise<BootResult>((resolve) => (settle = resolve));
  let lastReachedAt = bus.now();
  let disarm = () => {};

  const probing = new AbortController();
  const armTimer = () => {
    disarm();
    const milestone = watcher.current;
    if (!milestone) return;
    if ('ssh' in milestone && options.sshAnswers) {
      options
        .sshAnswers(milestone.ssh, AbortSignal.any([signal, probing.signal]))
        .then((banner) =>
          handle(
            watcher.feedSshAnswered().map((r, i) => (i === 0 && r.kind === 'milestone' ? { ...r, text: banner } : r)),
          ),
        )
        .catch(() => {});
    }
    const deadline = new Deadline(milestone.timeoutS * 1000 * options.timeoutScale, `milestone '${milestone.name}'`);
    disarm = deadline.onExpiry(() => {
      const lastLines = hub.lastLines();
      bus.emit({ type: 'milestone-timeout', name: milestone.name, timeoutMs: deadline.timeoutMs, lastLines });
      settle({ passed: false, failure: { kind: 'timeout', milestone, timeoutMs: deadline.timeoutMs, lastLines } });
    });
  };

  const handle = (results: WatchResult[]) => {
    for (const result of results) {
      if (result.kind === 'milestone') {
        const now = bus.now();
        bus.emit({
          type: 'milestone',
          name: result.milestone.name,
          durationMs: now - lastReachedAt,
          text: result.text || undefined,
        });
        lastReachedAt = now;
      } else {
        const lastLines = hub.lastLines();
        bus.emit({ type: 'failure-pattern', name: result.pattern.name, line: result.line, lastLines });
        settle({ passed: false, failure: { kind: 'pattern', pattern: result.pattern, line: result.line, lastLines } });
        return;
      }
    }
    if (results.length > 0) {
      if (watcher.done) settle({ passed: true });
      else armTimer();
    }
  };

  const unsubscribeConsole = hub.subscribe((text) => handle(watcher.feedConsole(text)));
  const unsubscribeBus = bus.subscribe((event) => {
    // In proxy mode the lab's DHCP server gives the lease; the job's proxy offer to the board stands for it.
    if (event.type === 'lease' || (event.type === 'dhcp' && event.message === 'PXE' && event.detail === 'proxy'))
      handle(watcher.feedLease());
    else if (event.type === 'file-served') handle(watcher.feedFileServed(event.role));
    // The job's NFS server reports mounts by the board's own address only.
    else if (event.type === 'nfs' && event.state === 'mount') handle(watcher.feedNfsMount());
  });
  armTimer();
  if (watcher.done) settle({ passed: true });
  try {
    return await new Promise<BootResult>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      if (signal.aborted) reject(signal.reason);
      void outcome.then(resolve);
    });
  } finally {
    disarm();
    probing.abort();
    unsubscribeConsole();
    unsubscribeBus();
  }
}
