/**
 * Which of the PXE server's reports become step events: only those about the
 * job's own board. DHCP lines of other MACs, and (where the job knows the
 * board's address) file requests from other addresses, are only counted: a
 * 'refused' event when a count reaches 1, 10, 100, ..., so a busy lab
 * network cannot fill the run's memory or its logs. Every client-chosen text
 * (host names, DHCP details, requested paths) is made printable
 * (core/printable.ts) before it becomes an event.
 */
import type { EventBus, FileProtocol, StepEventBody } from '../core/events.js';
import { printable } from '../core/printable.js';
import type { DhcpLogEvent } from './dnsmasq.js';
import type { FileServerMessage } from './file-server-messages.js';

type FileReport = Extract<FileServerMessage, { type: 'file-requested' | 'file-served' | 'file-failed' }>;

export class BoardGate {
  private readonly counts = new Map<'dhcp' | FileProtocol, number>();
  private readonly mac: string;
  private readonly boardIp: string;

  /** `board.ip` empty: the board's address is not the job's to know (proxyDHCP); file requests are not filtered here. */
  constructor(
    private readonly emit: (event: StepEventBody) => void,
    board: { mac: string; ip: string },
  ) {
    this.mac = board.mac.toLowerCase();
    this.boardIp = board.ip;
  }

  static on(bus: EventBus, board: { mac: string; ip: string }): BoardGate {
    return new BoardGate((event) => bus.emit(event), board);
  }

  dhcp(event: DhcpLogEvent): void {
    if (event.mac !== this.mac) return this.refuse('dhcp', event.mac);
    const text = (value: string | undefined) => (value === undefined ? undefined : printable(value));
    switch (event.kind) {
      case 'lease':
        return this.emit({ type: 'lease', mac: event.mac, ip: event.ip, hostname: text(event.hostname) });
      case 'proxy-offer':
        return this.emit({
          type: 'dhcp',
          message: 'PXE',
          mac: event.mac,
          detail: event.ignored ? 'proxy-ignored' : 'proxy',
        });
      default:
        return this.emit({
          type: 'dhcp',
          message: printable(event.message),
          mac: event.mac,
          ip: event.ip,
          detail: text(event.detail),
        });
    }
  }

  file(report: FileReport): void {
    const client = printable(report.client);
    if (this.boardIp && client.replace(/:\d+$/, '') !== this.boardIp) return this.refuse(report.protocol, client);
    const path = printable(report.path);
    if (report.type === 'file-failed') this.emit({ ...report, path, client, reason: printable(report.reason) });
    else this.emit({ ...report, path, client });
  }

  private refuse(what: 'dhcp' | FileProtocol, client: string): void {
    const count = (this.counts.get(what) ?? 0) + 1;
    this.counts.set(what, count);
    if (/^10*$/.test(String(count))) this.emit({ type: 'refused', what, count, client: printable(client) });
  }
}
