/**
 * The gate between the PXE server's reports and the run's events: only the
 * board's, client-chosen text made printable, everything else counted with a
 * bounded number of 'refused' events. The same path with the real dnsmasq
 * and clients: test/system/pxe-server.test.ts and lab-guard.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { StepEventBody } from '../../harness/core/events.js';
import { MAX_CLIENT_TEXT, printable } from '../../harness/core/printable.js';
import { BoardGate } from '../../harness/pxe/board-gate.js';

const BOARD = { mac: '52:54:00:12:34:56', ip: '10.77.0.20' };

function gate(board = BOARD): { gate: BoardGate; emitted: StepEventBody[] } {
  const emitted: StepEventBody[] = [];
  return { gate: new BoardGate((e) => emitted.push(e), board), emitted };
}

describe('printable', () => {
  it('escapes control characters and characters that reorder or hide text, and keeps the rest', () => {
    expect(printable('ev\x1b[31mil\x07 \x9b2J tab\there')).toBe('ev\\x1b[31mil\\x07 \\x9b2J tab\\x09here');
    expect(printable('a\u202eb\u2066c\u200bd\ufeff')).toBe('a\\u{202e}b\\u{2066}c\\u{200b}d\\u{feff}');
    expect(printable('pxelinux.cfg/01-52-54-00-12-34-56 é ✓')).toBe('pxelinux.cfg/01-52-54-00-12-34-56 é ✓');
  });

  it('cuts long text', () => {
    expect(printable('x'.repeat(1000))).toBe(`${'x'.repeat(MAX_CLIENT_TEXT)}...`);
    expect(printable('y'.repeat(20), 5)).toBe('yyyyy...');
  });
});

describe('BoardGate', () => {
  it("passes the board's DHCP lines and leases, with client text made printable", () => {
    const { gate: g, emitted } = gate();
    g.dhcp({ kind: 'message', message: 'DHCPDISCOVER', mac: BOARD.mac, detail: 'name\x1b]0;x\x07' });
    g.dhcp({ kind: 'lease', mac: BOARD.mac, ip: BOARD.ip, hostname: 'b\x1bc' });
    g.dhcp({ kind: 'proxy-offer', mac: BOARD.mac, ignored: false });
    expect(emitted).toEqual([
      { type: 'dhcp', message: 'DHCPDISCOVER', mac: BOARD.mac, ip: undefined, detail: 'name\\x1b]0;x\\x07' },
      { type: 'lease', mac: BOARD.mac, ip: BOARD.ip, hostname: 'b\\x1bc' },
      { type: 'dhcp', message: 'PXE', mac: BOARD.mac, detail: 'proxy' },
    ]);
  });

  it('counts DHCP lines of other MACs, with an event at 1, 10, 100, 1000 of them only', () => {
    const { gate: g, emitted } = gate();
    for (let i = 0; i < 2500; i++)
      g.dhcp({
        kind: 'message',
        message: 'DHCPDISCOVER',
        mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      });
    expect(emitted).toEqual([
      { type: 'refused', what: 'dhcp', count: 1, client: '02:00:00:00:00:00' },
      { type: 'refused', what: 'dhcp', count: 10, client: '02:00:00:00:00:09' },
      { type: 'refused', what: 'dhcp', count: 100, client: '02:00:00:00:00:63' },
      { type: 'refused', what: 'dhcp', count: 1000, client: '02:00:00:00:03:e7' },
    ]);
  });

  it("passes file requests from the board's address, and counts the others per protocol", () => {
    const { gate: g, emitted } = gate();
    g.file({ type: 'file-requested', protocol: 'tftp', path: 'a\x1b[2Jb', client: '10.77.0.20:2070' });
    g.file({ type: 'file-failed', protocol: 'tftp', path: 'x', client: '10.77.0.99:1000', reason: 'not in table' });
    g.file({ type: 'file-failed', protocol: 'http', path: '/y', client: '10.77.0.99:1001', reason: 'no' });
    g.file({ type: 'file-failed', protocol: 'tftp', path: '\x1b', client: '10.77.0.20:2071', reason: 'bad \x07' });
    expect(emitted).toEqual([
      { type: 'file-requested', protocol: 'tftp', path: 'a\\x1b[2Jb', client: '10.77.0.20:2070' },
      { type: 'refused', what: 'tftp', count: 1, client: '10.77.0.99:1000' },
      { type: 'refused', what: 'http', count: 1, client: '10.77.0.99:1001' },
      { type: 'file-failed', protocol: 'tftp', path: '\\x1b', client: '10.77.0.20:2071', reason: 'bad \\x07' },
    ]);
  });

  it("passes every file request when the board's address is not the job's to know (proxyDHCP, the job's own bridge)", () => {
    const { gate: g, emitted } = gate({ mac: BOARD.mac, ip: '' });
    g.file({ type: 'file-requested', protocol: 'http', path: '/boot.ipxe', client: '192.168.77.120:4000' });
    expect(emitted).toEqual([
      { type: 'file-requested', protocol: 'http', path: '/boot.ipxe', client: '192.168.77.120:4000' },
    ]);
  });
});
