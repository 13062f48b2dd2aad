/** A client host for a job's PXE server: its own namespace, joined to the job's bridge by a veth pair. */
import { execa } from 'execa';
import type { PxeServer } from '../../harness/pxe/pxe-server.js';

export async function addClientHost(server: PxeServer, clientNs: string, address = '10.42.0.50/24'): Promise<void> {
  await execa('ip', ['netns', 'add', clientNs]);
  await execa('ip', [
    '-n',
    server.netns,
    'link',
    'add',
    'vc0',
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    clientNs,
  ]);
  await execa('ip', ['-n', server.netns, 'link', 'set', 'vc0', 'master', 'br0', 'up']);
  await execa('ip', ['-n', clientNs, 'link', 'set', 'lo', 'up']);
  await execa('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'up']);
  await execa('ip', ['-n', clientNs, 'addr', 'add', address, 'dev', 'eth0']);
}

export async function removeClientHost(clientNs: string): Promise<void> {
  await execa('ip', ['netns', 'del', clientNs], { reject: false });
}
