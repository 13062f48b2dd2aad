/**
 * A Debian 12 root file system for NFS-root boot tests, made by mmdebstrap
 * (variant minbase) from Debian's packages through the host's apt sources:
 * Debian's cloud kernel (the very package the small image boots) with an
 * initramfs made for an NFS root (BOOT=nfs, MODULES=netboot), systemd, and
 * dropbear with a client key made here. Its serial console shows a ready line
 * before the login prompt. It is cached as a tarball beside its kernel, its
 * initramfs and its keys, keyed by the versions and the recipe it was made
 * from, since making it takes about a minute.
 *
 * Tested against: mmdebstrap 1.3.5, apt 2.6 (Debian 12).
 * Reference: mmdebstrap(1) (--variant, --include, hooks, MIRROR as a file), initramfs-tools(7).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Deadline } from '../../harness/core/deadline.js';
import { cacheDir } from '../../harness/core/paths.js';
import { runBounded } from '../../harness/core/process.js';
import { packageRecord, resolveMetapackage } from '../../harness/images/apt-packages.js';
import { fingerprint, makeClientKey, publicKeyBlob } from '../../harness/ssh/ssh-keys.js';

export const ROOTFS_READY_LINE = 'pxe-hil nfs root ready on ttyS0';
export const ROOTFS_HOSTNAME = 'hil-nfs';

/** Changes whenever the recipe below changes, so that cached root file systems are made anew. */
const RECIPE_VERSION = 'nfsroot-1';
const PACKAGES = ['initramfs-tools', 'systemd-sysv', 'dropbear'];

export type TestRootfs = {
  /** The root file system as mmdebstrap wrote it: an uncompressed tarball. */
  tarball: string;
  kernel: string;
  initrd: string;
  kernelRelease: string;
  provenance: string;
  ssh: { user: string; hostKey: string; hostKeyFingerprint: string; clientKeyPath: string };
};

/** The hooks that make the root file system an NFS root with a known SSH client key and a ready line. */
function hooks(authorizedKeys: string, hostKeyOut: string): string[] {
  return [
    // Before the kernel's package runs update-initramfs: its initramfs mounts the root over NFS.
    `--essential-hook=mkdir -p "$1/etc/initramfs-tools/conf.d" && printf 'BOOT=nfs\\nMODULES=netboot\\n' > "$1/etc/initramfs-tools/conf.d/pxe-hil-nfs"`,
    `--customize-hook=echo ${ROOTFS_HOSTNAME} > "$1/etc/hostname"`,
    // getty shows /etc/issue before its prompt: the ready line (\\l is the terminal's name).
    `--customize-hook=printf 'pxe-hil nfs root ready on \\\\l\\n\\n' > "$1/etc/issue"`,
    `--customize-hook=mkdir -m 700 -p "$1/root/.ssh" && cp '${authorizedKeys}' "$1/root/.ssh/authorized_keys" && chmod 600 "$1/root/.ssh/authorized_keys"`,
    `--customize-hook=chroot "$1" dropbearkey -y -f /etc/dropbear/dropbear_ecdsa_host_key | grep '^ecdsa-' > '${hostKeyOut}'`,
  ];
}

/** The host's apt sources files, given to mmdebstrap as its mirrors (their contents go into the root's sources). */
async function hostSources(): Promise<string[]> {
  const files: string[] = [];
  const main = '/etc/apt/sources.list';
  if (existsSync(main) && /^\s*deb\s/m.test(await readFile(main, 'utf8'))) files.push(main);
  const dir = '/etc/apt/sources.list.d';
  const names = existsSync(dir) ? await readdir(dir) : [];
  for (const name of names.filter((n) => n.endsWith('.list') || n.endsWith('.sources')).sort())
    files.push(join(dir, name));
  return files;
}

/** The host's apt settings that the root's apt needs too (a snapshot mirror's Valid-Until, a proxy). */
async function hostAptOptions(): Promise<string[]> {
  const result = await runBounded('apt-config', ['dump'], { deadline: Deadline.in(30_000, 'apt-config dump') });
  const wanted =
    /^(Acquire::Check-Valid-Until|Acquire::Check-Date|Acquire::http::Proxy|Acquire::https::Proxy) "[^"]*";$/;
  return result.stdout
    .split('\n')
    .filter((line) => wanted.test(line))
    .map((line) => `--aptopt=${line}`);
}

export async function buildTestRootfs(): Promise<TestRootfs> {
  const kernelPackage = await resolveMetapackage(
    'linux-image-cloud-amd64',
    /^linux-image-[\d.]+-\d+-cloud-amd64(-unsigned)?$/,
  );
  const versions = await Promise.all(
    [kernelPackage, ...PACKAGES].map(async (name) => `${name}=${(await packageRecord(name)).version}`),
  );
  const release = kernelPackage.replace(/^linux-image-/, '').replace(/-unsigned$/, '');
  const recipe = createHash('sha256')
    .update(RECIPE_VERSION)
    .update(versions.join(','))
    .update(hooks('K', 'H').join('\n'))
    .digest('hex')
    .slice(0, 12);
  const imagesDir = join(cacheDir(), 'images');
  const dir = join(imagesDir, `nfsroot-${release}-${recipe}`);
  if (!existsSync(join(dir, 'rootfs.tar'))) await makeRootfs(imagesDir, dir, versions, release);
  const hostKey = (await readFile(join(dir, 'host_key.pub'), 'utf8')).trim();
  return {
    tarball: join(dir, 'rootfs.tar'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    kernelRelease: release,
    provenance: versions.join(', '),
    ssh: {
      user: 'root',
      hostKey,
      hostKeyFingerprint: fingerprint(publicKeyBlob(hostKey)),
      clientKeyPath: join(dir, 'client_key'),
    },
  };
}

/** Runs mmdebstrap into a directory beside `dir`, then moves the whole directory into place. */
async function makeRootfs(imagesDir: string, dir: string, versions: string[], release: string): Promise<void> {
  await mkdir(imagesDir, { recursive: true });
  const partial = await mkdtemp(join(imagesDir, '.nfsroot-'));
  try {
    const clientKey = makeClientKey();
    await writeFile(join(partial, 'client_key'), clientKey.privatePem, { mode: 0o600 });
    await chmod(join(partial, 'client_key'), 0o600);
    await writeFile(join(partial, 'client_key.pub'), `${clientKey.publicLine}\n`);
    const tarball = join(partial, 'rootfs.tar');
    const result = await runBounded(
      'mmdebstrap',
      [
        '--variant=minbase',
        '--mode=root',
        '--format=tar',
        `--include=${versions.join(',')}`,
        ...(await hostAptOptions()),
        ...hooks(join(partial, 'client_key.pub'), join(partial, 'host_key.pub')),
        `--customize-hook=cp "$1/boot/vmlinuz-${release}" '${join(partial, 'vmlinuz')}'`,
        `--customize-hook=cp "$1/boot/initrd.img-${release}" '${join(partial, 'initrd.img')}'`,
        'bookworm',
        tarball,
        ...(await hostSources()),
      ],
      { deadline: Deadline.in(15 * 60_000, 'mmdebstrap to make the NFS root file system') },
    );
    if (result.exitCode !== 0)
      throw new Error(`mmdebstrap failed (exit ${result.exitCode}): ${result.stderr.slice(-2000)}`);
    await rename(partial, dir).catch((error: NodeJS.ErrnoException) => {
      // Another test made it first: use theirs.
      if (!existsSync(join(dir, 'rootfs.tar'))) throw error;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}
