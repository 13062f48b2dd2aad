/**
 * The small test image: a Debian cloud kernel (package linux-image-cloud-amd64)
 * and an initramfs made here from busybox-static, the kernel's own network
 * modules and an init script that brings up a shell on the serial console
 * and an SSH server (dropbear, with its libraries from Debian's packages).
 * It boots in seconds under TCG. The initramfs is cached by the versions and
 * content it was made from; the harness's client key is made with it and kept
 * beside it (mode 0600). It holds no SSH host key: each job appends its own
 * (job-ssh.ts) at SMALL_IMAGE_HOST_KEY.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cacheDir } from '../core/paths.js';
import { resolveMetapackage, unpackPackage, type UnpackedPackage } from './apt-packages.js';
import { cpioArchive, type CpioEntry } from './cpio.js';
import { programPackages, programsWithLibraries, type ProgramSet } from './package-programs.js';
import { makeClientKey } from '../ssh/ssh-keys.js';
import type { ImageSsh } from './image.js';

export const SMALL_IMAGE_PROMPT = 'hil-small# ';
/** Where the small image's SSH server reads the host key each job appends. */
export const SMALL_IMAGE_HOST_KEY = 'etc/dropbear/dropbear_ecdsa_host_key';

/** Network drivers loaded at boot; they are loaded in the order of their `depends=` (modinfo), dependencies first. */
const MODULES = [
  'virtio',
  'virtio_ring',
  'virtio_pci_modern_dev',
  'virtio_pci_legacy_dev',
  'virtio_pci',
  'failover',
  'net_failover',
  'virtio_net',
  'e1000',
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
mkdir -p /dev/pts /var/log /var/run
mount -t devpts devpts /dev/pts
# The job appends its own host key (images/job-ssh.ts); booted without one (the files alone, --kernel and
# --initrd), dropbear makes a key of its own at the first connection (-R), so SSH still answers.
if [ -f /${SMALL_IMAGE_HOST_KEY} ]; then key="-r /${SMALL_IMAGE_HOST_KEY}"; else key=-R; fi
dropbear $key -s -g -E -P /run/dropbear.pid 2>>/var/log/dropbear.log && echo "pxe-hil small image: ssh server started"
# Each NIC's lease before the shell: udhcpc waits for it (3 tries, 1 s apart), then goes on in the background
# (-b) on a NIC nothing answers. A lease taken while the shell was starting (its banner out, its prompt
# not yet) left the shell without a prompt, about one boot in five hundred: the shell starts after it.
for nic in /sys/class/net/*; do
  nic=\${nic##*/}
  [ "$nic" = lo ] && continue
  ip link set "$nic" up
  udhcpc -i "$nic" -s /etc/udhcpc.script -b -q -t 3 -T 1 >/dev/null 2>&1
done
tty=$(tty 2>/dev/null) || tty='the console'
echo "pxe-hil small image: shell ready on $tty"
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

/** Programs from Debian packages in the image: the SSH server and the SFTP server it starts (at its compiled-in path). */
const PROGRAMS = [
  { pkg: 'dropbear-bin', path: 'usr/sbin/dropbear' },
  { pkg: 'dropbear-bin', path: 'usr/bin/dropbearkey' },
  { pkg: 'openssh-sftp-server', path: 'usr/lib/openssh/sftp-server', as: 'usr/lib/sftp-server' },
];

const ETC_FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
  'etc/group': 'root:x:0:\n',
  'etc/shells': '/bin/sh\n',
  'etc/nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\n',
};

/** Changes whenever the way the initramfs is put together changes, so that cached images are made anew. */
const RECIPE_VERSION = 'ssh-6-lease-before-shell';

export type SmallImageFiles = {
  kernel: string;
  initrd: string;
  provenance: string;
  kernelRelease: string;
  ssh: ImageSsh;
};

export async function smallImageKernel(): Promise<{ pkg: UnpackedPackage; kernel: string; release: string }> {
  const name = await resolveMetapackage('linux-image-cloud-amd64', /^linux-image-[\d.]+-\d+-cloud-amd64(-unsigned)?$/);
  const pkg = await unpackPackage(name);
  const vmlinuz = (await readdir(join(pkg.root, 'boot'))).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`package ${name} has no /boot/vmlinuz-*`);
  return { pkg, kernel: join(pkg.root, 'boot', vmlinuz), release: vmlinuz.slice('vmlinuz-'.length) };
}

export async function buildSmallImage(): Promise<SmallImageFiles> {
  // The programs' packages alone (kept in the cache): the programs and libraries are read only to build.
  const [{ pkg: kernelPkg, kernel, release }, busybox, packages] = await Promise.all([
    smallImageKernel(),
    unpackPackage('busybox-static'),
    programPackages(PROGRAMS),
  ]);
  const provenance = [
    `${kernelPkg.name} ${kernelPkg.version}`,
    `${busybox.name} ${busybox.version}`,
    ...packages.map((p) => `${p.name} ${p.version}`),
  ].join(', ');
  const recipe = createHash('sha256')
    .update(RECIPE_VERSION)
    .update(provenance)
    .update(INIT)
    .update(UDHCPC_SCRIPT)
    .update(MODULES.join())
    .update(JSON.stringify(PROGRAMS))
    .update(JSON.stringify(ETC_FILES))
    .digest('hex')
    .slice(0, 12);
  const imagesDir = join(cacheDir(), 'images');
  // One directory per recipe, holding the initrd and its keys; it is moved into place whole, so a
  // cached initrd always comes with its own keys, also when two jobs build it at the same time.
  const dir = join(imagesDir, `small-${release}-${recipe}`);
  const initrd = join(dir, 'initrd.cpio.gz');
  const clientKeyPath = join(dir, 'client_key');
  if (!existsSync(initrd)) {
    const programs = await programsWithLibraries(PROGRAMS);
    const clientKey = makeClientKey();
    const archive = cpioArchive([
      ...(await initramfsEntries(kernelPkg.root, release, busybox.root, programs)),
      { path: 'etc/dropbear', type: 'dir', mode: 0o700 },
      { path: 'root/.ssh', type: 'dir', mode: 0o700 },
      { path: 'root/.ssh/authorized_keys', type: 'file', data: Buffer.from(`${clientKey.publicLine}\n`), mode: 0o600 },
    ]);
    await mkdir(imagesDir, { recursive: true });
    const partial = await mkdtemp(join(imagesDir, '.small-'));
    try {
      await writeFile(join(partial, 'client_key'), clientKey.privatePem, { mode: 0o600 });
      await chmod(join(partial, 'client_key'), 0o600);
      await writeFile(join(partial, 'client_key.pub'), `${clientKey.publicLine}\n`);
      await writeFile(join(partial, 'initrd.cpio.gz'), gzipSync(archive, { level: 6 }));
      await rename(partial, dir).catch((error: NodeJS.ErrnoException) => {
        // Another job moved its build into place first: use theirs.
        if (!existsSync(initrd)) throw error;
      });
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }
  return {
    kernel,
    initrd,
    provenance,
    kernelRelease: release,
    ssh: { user: 'root', port: 22, clientKeyPath, hostKeyFile: SMALL_IMAGE_HOST_KEY },
  };
}

async function initramfsEntries(
  kernelRoot: string,
  release: string,
  busyboxRoot: string,
  programs: ProgramSet,
): Promise<CpioEntry[]> {
  const modulesRoot = join(kernelRoot, 'lib/modules', release, 'kernel');
  const modulePaths = await findModules(modulesRoot, MODULES);
  const moduleData = new Map<string, Buffer>();
  for (const [name, path] of modulePaths) moduleData.set(name, await readFile(path));
  const entries: CpioEntry[] = [
    ...[
      'bin',
      'sbin',
      'etc',
      'dev',
      'proc',
      'sys',
      'tmp',
      'root',
      'lib',
      'lib/modules',
      'lib64',
      'lib/x86_64-linux-gnu',
      'usr',
      'usr/bin',
      'usr/sbin',
      'usr/lib',
    ].map((path) => ({ path, type: 'dir' as const })),
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1, mode: 0o600 },
    { path: 'bin/busybox', type: 'file', data: await readFile(join(busyboxRoot, 'bin/busybox')), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink', target: 'busybox' },
    { path: 'init', type: 'file', data: Buffer.from(INIT), mode: 0o755 },
    { path: 'etc/udhcpc.script', type: 'file', data: Buffer.from(UDHCPC_SCRIPT), mode: 0o755 },
    { path: 'etc/modules', type: 'file', data: Buffer.from(`${moduleLoadOrder(moduleData).join('\n')}\n`) },
    ...Object.entries(ETC_FILES).map(([path, text]) => ({ path, type: 'file' as const, data: Buffer.from(text) })),
    ...programs.files.map((file) => ({ path: file.path, type: 'file' as const, data: file.data, mode: file.mode })),
  ];
  for (const [name, data] of moduleData) entries.push({ path: `lib/modules/${name}.ko`, type: 'file', data });
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

/** The modules' names, each after the modules it depends on (the `depends=` field of its .modinfo section). */
export function moduleLoadOrder(modules: ReadonlyMap<string, Buffer>): string[] {
  const order: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (order.includes(name) || !modules.has(name)) return;
    if (path.includes(name))
      throw new Error(`kernel modules depend on each other in a circle: ${[...path, name].join(' -> ')}`);
    const depends = /\0depends=([^\0]*)\0/.exec(modules.get(name)!.toString('latin1'))?.[1] ?? '';
    for (const dep of depends.split(',').filter(Boolean)) {
      if (!modules.has(dep)) throw new Error(`kernel module ${name} needs ${dep}, which the image does not carry`);
      visit(dep, [...path, name]);
    }
    order.push(name);
  };
  for (const name of modules.keys()) visit(name, []);
  return order;
}
