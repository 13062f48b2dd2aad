/**
 * The job's own network: a network namespace holding a bridge with the PXE
 * server's addresses and a tap device for the virtual board. Everything the
 * job serves is bound inside it, so no job can answer another job's board or
 * the host's network, and removing the namespace removes it all.
 *
 * Tested against: iproute2 6.1 (Debian 12), Linux 6.x.
 * Reference: ip-netns(8), ip-link(8) (bridge, tuntap).
 */
import { run } from '../core/process.js';

export const NETNS_PREFIX = 'hil-';

export type JobNetwork = {
  netns: string;
  bridge: string;
  tap: string;
  serverIp: string;
  prefixLength: number;
  ipv6Prefix: string;
};

export function planJobNetwork(jobId: string): JobNetwork {
  return {
    netns: `${NETNS_PREFIX}${jobId}`,
    bridge: 'br0',
    tap: 'tap0',
    serverIp: '10.42.0.1',
    prefixLength: 24,
    ipv6Prefix: 'fd00:42::',
  };
}

/** The `ip -batch` commands that build the namespace's bridge and tap. */
export function networkCommands(net: JobNetwork): string[] {
  return [
    'link set lo up',
    `link add ${net.bridge} type bridge forward_delay 0 stp_state 0`,
    `tuntap add dev ${net.tap} mode tap`,
    `link set ${net.tap} master ${net.bridge}`,
    `link set ${net.tap} up`,
    `addr add ${net.serverIp}/${net.prefixLength} dev ${net.bridge}`,
    `addr add ${net.ipv6Prefix}1/64 dev ${net.bridge} nodad`,
    `link set ${net.bridge} up`,
  ];
}

export async function createJobNetwork(net: JobNetwork): Promise<void> {
  await run('ip', ['netns', 'add', net.netns]);
  try {
    // No duplicate address detection: the bridge's link-local address must be usable at once for router advertisements.
    await run('ip', [
      'netns',
      'exec',
      net.netns,
      'sysctl',
      '-q',
      '-w',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
    ]);
    await run('ip', ['-n', net.netns, '-batch', '-'], { input: `${networkCommands(net).join('\n')}\n` });
  } catch (error) {
    await removeJobNetwork(net.netns);
    throw error;
  }
}

export async function removeJobNetwork(netns: string): Promise<void> {
  if (!(await listNamespaces()).includes(netns)) return;
  await run('ip', ['netns', 'del', netns]);
}

export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}
