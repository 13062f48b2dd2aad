/**
 * The terminal reporter: one plain line per step event, stamped with the
 * time since the run started, that reads well in a Jenkins console and in a
 * terminal alike.
 */
import { type EventBus, NFS_NAMED_REFUSALS, type StepEvent, type StepEventOf } from '../core/events.js';
import { redact } from '../core/redact.js';

/** A power step's outcome in words: 'done' ('pxe' for the boot device), or 'failed: ' and the reason. */
export function powerOutcomeText(event: StepEventOf<'power'>): string {
  if (!event.ok) return `failed: ${event.error}`;
  return event.action === 'bootdev' ? 'pxe' : 'done';
}

/** A duration as people read it: '412 ms', '3.20 s'. */
function ms(value: number): string {
  return value >= 999.5 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

export function formatEvent(event: StepEvent): string | undefined {
  const time = `[${(event.t / 1000).toFixed(3).padStart(8)}]`;
  const line = (kind: string, text: string) => `${time} ${kind.padEnd(9)} ${text}`;
  switch (event.type) {
    case 'run-start':
      return line(
        'run',
        `${event.runId}: target ${event.target}, image ${event.image}, results in ${event.resultsDir}`,
      );
    case 'stage':
      return event.state === 'start'
        ? line(event.stage, `${event.detail ?? 'start'}`)
        : event.detail
          ? line(event.stage, event.detail)
          : undefined;
    case 'power':
      return line('power', `${event.action} via ${event.driver}: ${powerOutcomeText(event)} (${ms(event.durationMs)})`);
    case 'dhcp':
      return line(
        'dhcp',
        `${event.message} ${event.mac}${event.ip ? ` ${event.ip}` : ''}${event.detail ? ` ${event.detail}` : ''}`,
      );
    case 'lease':
      return line('lease', `${event.ip} to ${event.mac}${event.hostname ? ` (${event.hostname})` : ''}`);
    case 'file-requested':
      return undefined;
    case 'file-served':
      return line(event.protocol, fileServedText(event));
    case 'file-failed':
      return line(event.protocol, `${event.path} to ${event.client}: ${event.reason}`);
    case 'rootfs':
      return line('rootfs', rootfsText(event));
    case 'nfs':
      return line('nfs', nfsText(event));
    case 'milestone':
      return line('milestone', `${event.name} (+${ms(event.durationMs)})`);
    case 'milestone-timeout':
      return line(
        'FAILED',
        `milestone '${event.name}' not reached within ${ms(event.timeoutMs)}; last console lines:\n${indent(event.lastLines)}`,
      );
    case 'failure-pattern':
      return line('FAILED', `${event.name}: ${event.line}`);
    case 'console':
      return line('console', `${event.state}${event.detail ? ` (${event.detail})` : ''}`);
    case 'command':
      return line('command', `${event.command} -> ${event.exitCode ?? 'killed'} (${ms(event.durationMs)})`);
    case 'warning':
      return line('warning', event.message);
    case 'ssh':
      return line(
        'ssh',
        `${event.state === 'ready' ? 'logged in to' : 'FAILED to log in to'} ${event.address}, host key ${event.fingerprint} (${ms(event.durationMs)})${event.detail ? `: ${event.detail}` : ''}`,
      );
    case 'suite':
      return event.state === 'start'
        ? line('suite', `${event.name}: running`)
        : line(
            'suite',
            `${event.name}: ${event.passed ?? 0} passed, ${event.failed ?? 0} failed, ${event.skipped ?? 0} skipped (${ms(event.durationMs ?? 0)})`,
          );
    case 'boot-state':
      return line('state', `${event.from} -> ${event.to}: ${event.reason}`);
    case 'bootloader-command':
      return line(
        'uboot',
        `${event.command}: ${event.result} (${ms(event.durationMs)})${event.detail ? ` ${event.detail}` : ''}`,
      );
    case 'bootloader-load':
      return line('uboot', `loaded ${event.file}: ${event.bytes} bytes`);
    case 'run-end':
      return line(
        'result',
        `${event.outcome.toUpperCase()} (exit ${event.exitCode})${event.reason ? `: ${event.reason}` : ''}`,
      );
  }
}

/** "/vmlinuz to 10.42.0.10: 9000000 bytes in 1.20 s 7.5 MB/s". */
function fileServedText(event: StepEventOf<'file-served'>): string {
  const rate =
    event.bytes >= 1e6 && event.durationMs > 0
      ? ` ${(event.bytes / 1e6 / (event.durationMs / 1000)).toFixed(1)} MB/s`
      : '';
  return `${event.path} to ${event.client}: ${event.bytes} bytes in ${ms(event.durationMs)}${rate}`;
}

/** "the job's copy (unpack) in /var/cache/.../root (4.12 s)", "kept the job's copy in hil-results/.../rootfs". */
function rootfsText(event: StepEventOf<'rootfs'>): string {
  return event.state === 'pinned'
    ? `the job's copy (${event.method}) in ${event.path} (${ms(event.durationMs ?? 0)})`
    : `kept the job's copy in ${event.path}`;
}

/** "up: /rootfs for 10.42.0.10 (512 ms)", "10.42.0.10 mounted /rootfs (NFSv3)", "refused 10.42.0.99 ...", "down (0 refused)". */
function nfsText(event: StepEventOf<'nfs'>): string {
  const version = event.version ? ` (NFSv${event.version})` : '';
  switch (event.state) {
    case 'up':
      return `up: ${event.path} for ${event.client} only (${ms(event.durationMs ?? 0)})`;
    case 'mount':
      return `${event.client} mounted ${event.path}${version}`;
    case 'unmount':
      return `${event.client} unmounted ${event.path}${version}`;
    case 'refused':
      return `refused ${event.client} for ${event.path}${version}${(event.refused ?? 0) >= NFS_NAMED_REFUSALS ? '; further refusals are only counted' : ''}`;
    case 'down':
      return `down (${event.refused ?? 0} refused)`;
  }
}

function indent(lines: string[]): string {
  return lines.map((l) => `             | ${l}`).join('\n');
}

export function attachTerminalReporter(
  bus: EventBus,
  write: (text: string) => void = (t) => process.stdout.write(t),
): () => void {
  return bus.subscribe((event) => {
    const text = formatEvent(event);
    if (text !== undefined) write(`${redact(text)}\n`);
  });
}
