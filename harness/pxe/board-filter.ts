/**
 * On a lab network the job's namespace answers only its board: an nftables
 * table made inside the namespace (and gone with it) lets in DHCP and
 * proxyDHCP (UDP 67, 4011), TFTP (UDP 69, then the transfer's own port, as
 * part of a flow the job's server opened), HTTP (TCP 80), ICMP and the
 * replies to what the job itself opened (the SSH forwarder's connection),
 * each only from the board's MAC (the frame's source address), and drops
 * everything else. So no other host of the lab network reaches the job's
 * servers, and none of its requests reaches the run's events or logs.
 *
 * Tested against: nftables 1.0.6 (Debian 12 package nftables), Linux 6.x, in a namespace
 * joined to a bridge by a macvlan (test/system/lab-guard.test.ts).
 * Reference: nft(8) (tables, base chains with hook input and policy drop, ether saddr, ct state).
 */
import { LabFault } from '../core/errors.js';
import { run } from '../core/process.js';

/** The table's name in the job's namespace. */
export const FILTER_TABLE = 'pxe_hil';

/** The nft script that makes the table; `mac` is the board's. */
export function boardFilterRules(mac: string, iface: string): string {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new Error(`not a MAC address: ${mac}`);
  if (!/^[\w.-]+$/.test(iface)) throw new Error(`not an interface name: ${iface}`);
  const board = `iifname "${iface}" ether saddr ${mac.toLowerCase()}`;
  return [
    `table inet ${FILTER_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iif "lo" accept',
    `    ${board} ct state established,related accept`,
    `    ${board} udp dport { 67, 69, 4011 } accept`,
    `    ${board} tcp dport 80 accept`,
    `    ${board} meta l4proto { icmp, ipv6-icmp } accept`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Makes the table in the job's namespace; a LabFault saying how to fix it when nft is missing or refused. */
export async function applyBoardFilter(netns: string, mac: string, iface: string): Promise<void> {
  try {
    await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: boardFilterRules(mac, iface) });
  } catch (error) {
    const said = (error instanceof Error ? error.message : String(error)).split('\n').pop()?.trim();
    throw new LabFault(
      `could not filter the job's lab network to the board's MAC with nft (${said}): install nftables (bash scripts/setup) and check that the kernel has nf_tables`,
      { cause: error },
    );
  }
}
