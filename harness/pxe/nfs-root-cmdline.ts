/**
 * Kernel arguments that put a board's root file system on the job's NFS
 * export, in one of two ways:
 *
 * - 'kernel': the kernel mounts it itself (CONFIG_ROOT_NFS, with CONFIG_IP_PNP
 *   for ip=): root=/dev/nfs nfsroot=<server>:<path>,<options> ip=... It may
 *   default to NFSv2, so the version is always named.
 * - 'initramfs': Debian's initramfs-tools mounts it (boot=nfs; the initramfs
 *   made with MODULES=netboot), as Debian's own kernels need, which have
 *   neither CONFIG_ROOT_NFS nor CONFIG_IP_PNP. Its klibc nfsmount speaks
 *   NFSv3 only, always adds nolock and asks rpcbind for the MOUNT port; udev
 *   renames eth0 inside it, so net.ifnames=0 keeps the name that ip= gives.
 *
 * Over NFSv3 the board mounts with noacl (nfs-ganesha 4.3 answers NFSACL
 * calls so that the client reports I/O errors) and nolock (the job's server
 * runs no lock manager).
 *
 * Tested against: Debian 12's initramfs-tools 0.142 and klibc-utils 2.0.12 with
 * Debian's 6.1 cloud kernel under QEMU, served by nfs-ganesha 4.3.
 * Reference: Linux Documentation/admin-guide/nfs/nfsroot.rst (nfsroot=, ip=),
 * initramfs-tools(7) (boot=nfs, nfsroot=, ip=), nfs(5) (mount options).
 */

export type NfsRootStyle = 'kernel' | 'initramfs';

/** The board's address: from DHCP, or fixed. `device` names the interface (eth0 by default for a fixed address). */
export type NfsRootAddress =
  | { kind: 'dhcp' }
  | { kind: 'static'; ip: string; prefixLength: number; gateway?: string; hostname?: string; device?: string };

export type NfsRootPlan = {
  style: NfsRootStyle;
  serverIp: string;
  /** The export's path as clients mount it (the server's pseudo path). */
  path: string;
  /** NFS version; default 3. The initramfs way is NFSv3 only. */
  version?: 3 | 4;
  address: NfsRootAddress;
  /** Mount the root read-only; default read-write. */
  readOnly?: boolean;
};

/** Problems with a plan, each one line; empty when its arguments can be made. */
export function nfsRootProblems(plan: NfsRootPlan): string[] {
  const problems: string[] = [];
  if (plan.style === 'initramfs' && plan.version === 4)
    problems.push(
      "Debian's initramfs mounts an NFS root over NFSv3 only (klibc nfsmount): use version 3, or the kernel's own NFS root",
    );
  if (!plan.path.startsWith('/') || /[\s,:]/.test(plan.path))
    problems.push(`the NFS root path '${plan.path}' must be absolute, without spaces, commas or colons`);
  if (plan.address.kind === 'static' && (plan.address.prefixLength < 1 || plan.address.prefixLength > 30))
    problems.push(`the board's prefix length /${plan.address.prefixLength} is not one from /1 to /30`);
  return problems;
}

/** The NFS mount options the board's root is mounted with. */
export function nfsRootOptions(plan: Pick<NfsRootPlan, 'style' | 'version'>): string[] {
  const version = plan.version ?? 3;
  if (version === 4) return ['vers=4', 'tcp'];
  // klibc nfsmount adds nolock itself and takes v3 for its version; the kernel takes vers=3.
  return plan.style === 'initramfs' ? ['v3', 'tcp', 'noacl'] : ['vers=3', 'tcp', 'nolock', 'noacl'];
}

/** A prefix length as a dotted netmask: 24 is 255.255.255.0. */
export function netmaskOf(prefixLength: number): string {
  const bits = prefixLength <= 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (bits >>> shift) & 0xff).join('.');
}

/** ip= as the kernel and klibc ipconfig read it: client:server:gateway:netmask:hostname:device:autoconf. */
export function ipArgument(address: NfsRootAddress, serverIp: string): string {
  if (address.kind === 'dhcp') return 'ip=dhcp';
  const fields = [
    address.ip,
    serverIp,
    address.gateway ?? '',
    netmaskOf(address.prefixLength),
    address.hostname ?? '',
    address.device ?? 'eth0',
    'off',
  ];
  return `ip=${fields.join(':')}`;
}

/** The kernel arguments for the board's NFS root (to add to the image's own). */
export function nfsRootArguments(plan: NfsRootPlan): string[] {
  const problems = nfsRootProblems(plan);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const nfsroot = `nfsroot=${plan.serverIp}:${plan.path},${nfsRootOptions(plan).join(',')}`;
  const mode = plan.readOnly ? 'ro' : 'rw';
  const ip = ipArgument(plan.address, plan.serverIp);
  if (plan.style === 'kernel') return ['root=/dev/nfs', nfsroot, ip, mode];
  return ['boot=nfs', 'root=/dev/nfs', nfsroot, ip, 'net.ifnames=0', mode];
}
