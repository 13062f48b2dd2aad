/**
 * The small test image: a Debian cloud kernel (package linux-image-cloud-amd64)
 * and an initramfs made here from busybox-static, the kernel's own network
 * modules and an init script that brings up a shell on the serial console.
 * It boots in seconds under TCG. The initramfs is cached by the versions and
 * content it was made from.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cacheDir, resolveMetapackage, unpackPackage, type UnpackedPackage } from './apt-packages.js';
import { cpioArchive, type CpioEntry } from './cpio.js';

export const SMALL_IMAGE_PROMPT = 'hil-small# ';

/** Network drivers loaded at boot, in dependency order. */
const MODULES = [
  'virtio', 'virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci',
  'failover', 'net_failover', 'virtio_net', 'e1000',
];

const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run /root
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules); do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
hostname hil-small
ip link set lo up
for nic in /sys/class/net/*; do
  nic=\${nic##*/}
  [ "$nic" = lo ] && continue
  ip link set "$nic" up
  udhcpc -i "$nic" -s /etc/udhcpc.script -b -q -t 10 >/dev/null 2>&1 &
done
echo "pxe-hil small image: shell ready on $(tty 2>/dev/null || echo console)"
export PS1='${SMALL_IMAGE_PROMPT}' HOME=/root
cd /root
exec setsid cttyhack sh
`;

const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "\${subnet:-255.255.255.0}"
    [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
    echo "pxe-hil small image: $interface has address $ip" > /dev/console
    ;;
esac
`;

export type SmallImageFiles = { kernel: string; initrd: string; provenance: string };

export async function smallImageKernel(): Promise<{ pkg: UnpackedPackage; kernel: string; release: string }> {
  const name = await resolveMetapackage('linux-image-cloud-amd64', /^linux-image-[\d.]+-\d+-cloud-amd64(-unsigned)?$/);
  const pkg = await unpackPackage(name);
  const vmlinuz = (await readdir(join(pkg.root, 'boot'))).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`package ${name} has no /boot/vmlinuz-*`);
  return { pkg, kernel: join(pkg.root, 'boot', vmlinuz), release: vmlinuz.slice('vmlinuz-'.length) };
}

export async function buildSmallImage(): Promise<SmallImageFiles> {
  const [{ pkg: kernelPkg, kernel, release }, busybox] = await Promise.all([smallImageKernel(), unpackPackage('busybox-static')]);
  const provenance = `${kernelPkg.name} ${kernelPkg.version}, ${busybox.name} ${busybox.version}`;
  const recipe = createHash('sha256').update(provenance).update(INIT).update(UDHCPC_SCRIPT).update(MODULES.join()).digest('hex').slice(0, 12);
  const imagesDir = join(cacheDir(), 'images');
  const initrd = join(imagesDir, `small-${release}-${recipe}.cpio.gz`);
  if (!existsSync(initrd)) {
    const archive = cpioArchive(await initramfsEntries(kernelPkg.root, release, busybox.root));
    await mkdir(imagesDir, { recursive: true });
    const partial = `${initrd}.${process.pid}.partial`;
    await writeFile(partial, gzipSync(archive, { level: 6 }));
    await rename(partial, initrd);
  }
  return { kernel, initrd, provenance };
}

async function initramfsEntries(kernelRoot: string, release: string, busyboxRoot: string): Promise<CpioEntry[]> {
  const modulesRoot = join(kernelRoot, 'lib/modules', release, 'kernel');
  const modulePaths = await findModules(modulesRoot, MODULES);
  const entries: CpioEntry[] = [
    ...['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'lib', 'lib/modules'].map((path) => ({ path, type: 'dir' as const })),
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1, mode: 0o600 },
    { path: 'bin/busybox', type: 'file', data: await readFile(join(busyboxRoot, 'bin/busybox')), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'init', type: 'file', data: Buffer.from(INIT), mode: 0o755 },
    { path: 'etc/udhcpc.script', type: 'file', data: Buffer.from(UDHCPC_SCRIPT), mode: 0o755 },
    { path: 'etc/modules', type: 'file', data: Buffer.from(MODULES.filter((m) => modulePaths.has(m)).join('\n') + '\n') },
  ];
  for (const [name, path] of modulePaths) {
    entries.push({ path: `lib/modules/${name}.ko`, type: 'file', data: await readFile(path) });
  }
  return entries;
}

async function findModules(root: string, names: readonly string[]): Promise<Map<string, string>> {
  const wanted = new Set(names);
  const found = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true })) {
    const file = entry.split('/').pop() ?? '';
    const name = file.replace(/\.ko$/, '');
    if (file.endsWith('.ko') && wanted.has(name)) found.set(name, join(root, entry));
  }
  return found;
}
