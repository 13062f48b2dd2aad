/**
 * The job's network for a real board: a fresh namespace `hil-<job id>`
 * joined to the lab interface the board is wired to by a macvlan in bridge
 * mode, with the job's own address. The macvlan has its own MAC, so several
 * jobs serve on one interface at once, each from its own namespace; deleting
 * the namespace deletes the macvlan. The lab interface itself is never
 * changed: no address, no state, no DHCP server on it.
 *
 * Tested against: iproute2 6.1 (Debian 12), Linux 6.x, with a bridge inside
 * a test namespace as the lab interface.
 * Reference: ip-link(8) (macvlan mode bridge, netns), ip-netns(8).
 */
import { LabFault } from '../core/errors.js';
import { run } from '../core/process.js';
import { type JobNetwork, NETNS_PREFIX, planJobNetwork, removeJobNetwork } from './netns.js';

/** The macvlan's name inside the job's namespace. */
export const LAB_INTERFACE = 'lab0';

export type LabNetworkConfig = {
  interface: string;
  netns?: string;
  mode: 'dhcp' | 'proxy';
  serverAddress: string;
};

export type LabNetwork = {
  kind: 'lab';
  netns: string;
  /** The macvlan in the job's namespace, where the job serves. */
  interface: string;
  /** The lab interface it sits on, and the namespace that holds it (none: the host's). */
  parent: string;
  parentNetns?: string;
  mode: 'dhcp' | 'proxy';
  serverIp: string;
  prefixLength: number;
};

export function isLabNetwork(net: object): net is LabNetwork {
  return (net as Partial<LabNetwork>).kind === 'lab';
}

export function planLabNetwork(jobId: string, config: LabNetworkConfig): LabNetwork {
  const [serverIp, prefix] = config.serverAddress.split('/') as [string, string];
  return {
    kind: 'lab',
    netns: `${NETNS_PREFIX}${jobId}`,
    interface: LAB_INTERFACE,
    parent: config.interface,
    parentNetns: config.netns,
    mode: config.mode,
    serverIp,
    prefixLength: Number(prefix),
  };
}

/** The job's network: on the lab interface when the target has one, else the job's own namespace with a tap. */
export function planNetwork(jobId: string, lab: LabNetworkConfig | undefined): JobNetwork | LabNetwork {
  return lab ? planLabNetwork(jobId, lab) : planJobNetwork(jobId);
}

/** The `ip` arguments that create the macvlan on the lab interface, directly inside the job's namespace. */
export function macvlanCommand(net: LabNetwork): string[] {
  return [
    ...(net.parentNetns ? ['-n', net.parentNetns] : []),
    'link',
    'add',
    'link',
    net.parent,
    'name',
    net.interface,
    'netns',
    net.netns,
    'type',
    'macvlan',
    'mode',
    'bridge',
  ];
}

/** The `ip -batch` commands, in the job's namespace, that give the macvlan its address. */
export function labNetworkCommands(net: LabNetwork): string[] {
  return [
    'link set lo up',
    `addr add ${net.serverIp}/${net.prefixLength} dev ${net.interface}`,
    `link set ${net.interface} up`,
  ];
}

/** Dotted netmask and network address of the job's address, for dnsmasq's range. */
export function subnetOf(net: { serverIp: string; prefixLength: number }): { netmask: string; subnet: string } {
  const mask = net.prefixLength === 0 ? 0 : (0xffffffff << (32 - net.prefixLength)) >>> 0;
  const ip = net.serverIp.split('.').reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);
  const dotted = (n: number) => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
  return { netmask: dotted(mask), subnet: dotted((ip & mask) >>> 0) };
}

export async function createLabNetwork(net: LabNetwork): Promise<void> {
  await run('ip', ['netns', 'add', net.netns]);
  try {
    try {
      await run('ip', macvlanCommand(net));
    } catch (error) {
      const where = net.parentNetns ? ` in namespace ${net.parentNetns}` : '';
      throw new LabFault(
        `could not add a macvlan on lab interface '${net.parent}'${where} (${firstLine(error)}): check target.network.interface against 'ip link' on this host`,
        { cause: error },
      );
    }
    await run('ip', ['-n', net.netns, '-batch', '-'], { input: `${labNetworkCommands(net).join('\n')}\n` });
  } catch (error) {
    await removeJobNetwork(net.netns);
    throw error;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // run() reports "<command> failed (exit N): <what ip said>"; the last part is what matters here.
  return message.replace(/^[\s\S]*failed \(exit [^)]*\): /, '').trim();
}
