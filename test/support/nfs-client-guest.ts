/**
 * A QEMU guest as an NFS client: Debian's cloud kernel (the one the small
 * image boots) with its own NFS client modules, and an initramfs made here
 * from busybox that mounts an export with the kernel's client (busybox hands
 * the options to mount(2) as text), reads, writes, unmounts, says so on its
 * serial console and powers off. The host's kernel needs no NFS client.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { unpackPackage } from '../../harness/images/apt-packages.js';
import { moduleLoadOrder, smallImageKernel } from '../../harness/images/busybox-initramfs.js';
import { cpioArchive, type CpioEntry } from '../../harness/images/cpio.js';

const MODULES = [
  'virtio',
  'virtio_ring',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'failover',
  'net_failover',
  'virtio_net',
  'sunrpc',
  'grace',
  'lockd',
  'nfs_acl',
  'netfs',
  'fscache',
  'dns_resolver',
  'nfs',
  'nfsv3',
  'nfsv4',
];

/** hil.mounts on the kernel command line: `tag@options` entries, separated by `;`. */
const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /mnt /tmp
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko || echo "hil-nfs: insmod $m failed"; done
arg() { tr ' ' '\\n' < /proc/cmdline | sed -n "s/^$1=//p"; }
ip link set lo up
ip link set eth0 up
ip addr add "$(arg hil.ip)" dev eth0
server=$(arg hil.server)
share=$(arg hil.share)
for entry in $(arg hil.mounts | tr ';' ' '); do
  tag=\${entry%%@*}
  options=\${entry#*@}
  if mount -t nfs -o "$options,addr=$server" "$server:$share" /mnt; then
    echo "hil-nfs: $tag mounted"
    echo "hil-nfs: $tag read $(cat /mnt/hello.txt)"
    echo "written over $tag" > "/mnt/from-guest-$tag.txt" && echo "hil-nfs: $tag wrote"
    umount /mnt && echo "hil-nfs: $tag unmounted"
  else
    echo "hil-nfs: $tag mount failed"
  fi
done
echo "hil-nfs: done"
poweroff -f
`;

export type NfsClientImage = { kernel: string; initrd: Buffer };

export async function nfsClientImage(): Promise<NfsClientImage> {
  const [{ pkg, kernel, release }, busybox] = await Promise.all([smallImageKernel(), unpackPackage('busybox-static')]);
  const moduleRoot = join(pkg.root, 'lib/modules', release, 'kernel');
  const wanted = new Set(MODULES);
  const modules = new Map<string, Buffer>();
  for (const entry of await readdir(moduleRoot, { recursive: true })) {
    const name = (entry.split('/').pop() ?? '').replace(/\.ko$/, '');
    if (entry.endsWith('.ko') && wanted.has(name)) modules.set(name, await readFile(join(moduleRoot, entry)));
  }
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'etc', 'lib', 'lib/modules'].map((path) => ({ path, type: 'dir' as const })),
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1, mode: 0o600 },
    { path: 'bin/busybox', type: 'file', data: await readFile(join(busybox.root, 'bin/busybox')), mode: 0o755 },
    { path: 'init', type: 'file', data: Buffer.from(INIT), mode: 0o755 },
    { path: 'etc/modules', type: 'file', data: Buffer.from(`${moduleLoadOrder(modules).join('\n')}\n`) },
    ...[...modules].map(([name, data]) => ({ path: `lib/modules/${name}.ko`, type: 'file' as const, data })),
  ];
  return { kernel, initrd: gzipSync(cpioArchive(entries)) };
}

export type GuestMount = { tag: string; options: string };

/**
 * Boots the guest in `netns` on `tap` at `address` (with prefix); it mounts
 * server:share once per entry of `mounts` (`tag@options`, e.g. `v3@vers=3,nolock`).
 * Resolves with the guest's console lines once it has powered off.
 */
export async function runNfsClientGuest(options: {
  netns: string;
  tap: string;
  address: string;
  server: string;
  share: string;
  mounts: string[];
  initrdPath: string;
  kernel: string;
  timeoutMs?: number;
}): Promise<string[]> {
  const cmdline = [
    'console=ttyS0',
    'panic=-1',
    'quiet',
    `hil.ip=${options.address}`,
    `hil.server=${options.server}`,
    `hil.share=${options.share}`,
    `hil.mounts=${options.mounts.join(';')}`,
  ].join(' ');
  const result = await execa(
    'ip',
    [
      'netns',
      'exec',
      options.netns,
      'qemu-system-x86_64',
      '-machine',
      'pc,accel=tcg',
      '-m',
      '256',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-serial',
      'stdio',
      '-kernel',
      options.kernel,
      '-initrd',
      options.initrdPath,
      '-append',
      cmdline,
      '-netdev',
      `tap,id=n0,ifname=${options.tap},script=no,downscript=no`,
      '-device',
      'virtio-net-pci,netdev=n0,mac=52:54:00:4e:46:53',
    ],
    { reject: false, timeout: options.timeoutMs ?? 120_000, stdin: 'ignore' },
  );
  return String(result.stdout)
    .split('\n')
    .map((line) => line.replace(/\r$/, ''));
}
