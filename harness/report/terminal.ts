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

/** How long something took: milliseconds below a second, else seconds. */
const ms = (value: number) => (value >= 999.5 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`);

/** One line's kind and text; undefined for an event not printed. */
type Line = [kind: string, text: string] | undefined;

/** Each event type's line, one entry per type (the compiler checks none is missing). */
const LINES: { [K in StepEvent['type']]: (event: StepEventOf<K>) => Line } = {
  'run-start': (e) => [
    'run',
    `${e.runId}: target ${e.target}${e.pool ? ` (pool ${e.pool})` : ''}, image ${e.image}, results in ${e.resultsDir}`,
  ],
  stage: (e) => (e.state === 'start' ? [e.stage, e.detail ?? 'start'] : e.detail ? [e.stage, e.detail] : undefined),
  power: (e) => ['power', `${e.action} via ${e.driver}: ${powerOutcomeText(e)} (${ms(e.durationMs)})`],
  dhcp: (e) => ['dhcp', `${e.message} ${e.mac}${e.ip ? ` ${e.ip}` : ''}${e.detail ? ` ${e.detail}` : ''}`],
  lease: (e) => ['lease', `${e.ip} to ${e.mac}${e.hostname ? ` (${e.hostname})` : ''}`],
  'file-requested': () => undefined,
  'file-served': (e) => [e.protocol, `${e.path} to ${e.client}: ${e.bytes} bytes in ${ms(e.durationMs)}${rateOf(e)}`],
  'file-failed': (e) => [e.protocol, `${e.path} to ${e.client}: ${e.reason}`],
  artifact: () => undefined,
  rootfs: (e) => ['rootfs', rootfsText(e)],
  nfs: (e) => ['nfs', nfsText(e)],
  refused: (e) => ['refused', refusedText(e)],
  milestone: (e) => ['milestone', `${e.name} (+${ms(e.durationMs)})`],
  'milestone-timeout': (e) => [
    'FAILED',
    `milestone '${e.name}' not reached within ${ms(e.timeoutMs)}; last console lines:\n${indent(e.lastLines)}`,
  ],
  'failure-pattern': (e) => ['FAILED', `${e.name}: ${e.line}`],
  console: (e) => ['console', `${e.state}${e.detail ? ` (${e.detail})` : ''}`],
  command: (e) => ['command', `${e.command} -> ${e.exitCode ?? 'killed'} (${ms(e.durationMs)})`],
  warning: (e) => ['warning', e.message],
  pool: (e) => ['pool', poolText(e)],
  ssh: (e) => [
    'ssh',
    `${e.state === 'ready' ? 'logged in to' : 'FAILED to log in to'} ${e.address}, host key ${e.fingerprint} (${ms(e.durationMs)})${e.detail ? `: ${e.detail}` : ''}`,
  ],
  suite: (e) =>
    e.state === 'start'
      ? ['suite', `${e.name}: running`]
      : [
          'suite',
          `${e.name}: ${e.passed ?? 0} passed, ${e.failed ?? 0} failed, ${e.skipped ?? 0} skipped (${ms(e.durationMs ?? 0)})`,
        ],
  'boot-state': (e) => ['state', `${e.from} -> ${e.to}: ${e.reason}`],
  'bootloader-command': (e) => [
    'uboot',
    `${e.command}: ${e.result} (${ms(e.durationMs)})${e.detail ? ` ${e.detail}` : ''}`,
  ],
  'bootloader-load': (e) => ['uboot', `loaded ${e.file}: ${e.bytes} bytes`],
  'firmware-prompt': (e) => ['firmware', `${JSON.stringify(e.prompt)}: answered ${e.answer}`],
  'run-end': (e) => ['result', `${e.outcome.toUpperCase()} (exit ${e.exitCode})${e.reason ? `: ${e.reason}` : ''}`],
};

export function formatEvent(event: StepEvent): string | undefined {
  const line = (LINES[event.type] as (e: StepEvent) => Line)(event);
  if (!line) return undefined;
  return `[${(event.t / 1000).toFixed(3).padStart(8)}] ${line[0].padEnd(9)} ${line[1]}`;
}

function rateOf(event: StepEventOf<'file-served'>): string {
  if (event.bytes < 1e6 || event.durationMs <= 0) return '';
  return ` ${(event.bytes / 1e6 / (event.durationMs / 1000)).toFixed(1)} MB/s`;
}

function refusedText(event: Extract<StepEvent, { type: 'refused' }>): string {
  const requests = `${event.count} ${event.what} request${event.count === 1 ? '' : 's'}`;
  return `${requests} from clients other than the board so far, not answered (last: ${event.client})`;
}

function poolText(event: StepEventOf<'pool'>): string {
  if (event.state === 'taken') return `took target ${event.target} from pool ${event.pool}`;
  const holders = event.holders.map((h) => `${h.target}: ${h.holder}`).join('; ');
  return `every target of pool ${event.pool} is held (${holders}); waiting up to ${event.timeoutS} s for the first free one`;
}

/** "/vmlinuz to 10.42.0.10: 9000000 bytes in 1.20 s 7.5 MB/s". */
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
