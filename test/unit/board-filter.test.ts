/** The nft table that lets only the board's frames into a lab job's namespace (real nft: lab-guard.test.ts). */
import { describe, expect, it } from 'vitest';
import { boardFilterRules } from '../../harness/pxe/board-filter.js';

describe('board filter rules', () => {
  it("accept DHCP, proxyDHCP, TFTP, HTTP, ICMP and replies from the board's MAC on the lab interface only", () => {
    expect(boardFilterRules('52:54:00:AB:00:01', 'lab0')).toBe(
      [
        'table inet pxe_hil {',
        '  chain input {',
        '    type filter hook input priority filter; policy drop;',
        '    iif "lo" accept',
        '    iifname "lab0" ether saddr 52:54:00:ab:00:01 ct state established,related accept',
        '    iifname "lab0" ether saddr 52:54:00:ab:00:01 udp dport { 67, 69, 4011 } accept',
        '    iifname "lab0" ether saddr 52:54:00:ab:00:01 tcp dport 80 accept',
        '    iifname "lab0" ether saddr 52:54:00:ab:00:01 meta l4proto { icmp, ipv6-icmp } accept',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('refuses what is not a MAC or an interface name, rather than put it in a rule', () => {
    expect(() => boardFilterRules('52:54:00:ab:00:01 accept', 'lab0')).toThrow('not a MAC address');
    expect(() => boardFilterRules('52:54:00:ab:00:01', 'lab0" accept')).toThrow('not an interface name');
  });
});
