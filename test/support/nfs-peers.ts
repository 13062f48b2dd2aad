/**
 * Peers for NFS server tests: client hosts in namespaces of their own, joined
 * to a job's bridge by veth pairs, and libnfs's command-line client (nfs-ls,
 * nfs-cat, nfs-cp: a user-space NFSv3 client, so no NFS client is needed in
 * the host's kernel).
 */
import { execa } from 'execa';

/** A client namespace `clientNs` at `address` (with prefix), on the bridge br0 of `serverNs`, through veth `veth`. */
export async function addNfsClient(serverNs: string, clientNs: string, veth: string, address: string): Promise<void> {
  await execa('ip', ['netns', 'add', clientNs]);
  await execa('ip', ['-n', serverNs, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', clientNs]);
  await execa('ip', ['-n', serverNs, 'link', 'set', veth, 'master', 'br0', 'up']);
  await execa('ip', ['-n', clientNs, 'link', 'set', 'lo', 'up']);
  await execa('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'up']);
  await execa('ip', ['-n', clientNs, 'addr', 'add', address, 'dev', 'eth0']);
}

export async function removeNfsClient(clientNs: string): Promise<void> {
  await execa('ip', ['netns', 'del', clientNs], { reject: false });
}

export type NfsToolResult = { exitCode: number; stdout: string; stderr: string };

/** Runs one of libnfs's tools in a client namespace. */
export async function nfsTool(
  clientNs: string,
  tool: 'nfs-ls' | 'nfs-cat' | 'nfs-cp',
  args: string[],
): Promise<NfsToolResult> {
  const result = await execa('ip', ['netns', 'exec', clientNs, tool, ...args], { reject: false, timeout: 30_000 });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Whether a process with this pid still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mounts on the host whose source or target names `text`. */
export async function hostMountsNaming(text: string): Promise<string[]> {
  const { stdout } = await execa('findmnt', ['-rn', '-o', 'SOURCE,TARGET']);
  return stdout.split('\n').filter((line) => line.includes(text));
}
