/**
 * The job's copy of a root file system, made by the real tools (cp, tar,
 * the kernel's overlayfs) as root: a directory and tarballs of each
 * compression become copies with the same listing (owners, modes, setuid,
 * device nodes, symlinks, content) and the same extended attributes, and the
 * root given is never changed.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  directoryDigest,
  makeJobRootfs,
  removeJobRootfs,
  rootfsSourceOf,
  tarballDigest,
} from '../../harness/images/rootfs-copy.js';
import { hostMountsNaming } from '../support/nfs-peers.js';

let root: string;
let source: string;
let before: Awaited<ReturnType<typeof directoryDigest>>;

const xattrOf = async (path: string) =>
  (await execa('getfattr', ['--absolute-names', '--only-values', '-n', 'user.pxe-hil', path])).stdout;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hil-rootfs-'));
  source = join(root, 'source');
  await mkdir(join(source, 'usr/bin'), { recursive: true });
  await mkdir(join(source, 'dev'));
  await mkdir(join(source, 'tmp'), { mode: 0o1777 });
  await execa('chmod', ['1777', join(source, 'tmp')]);
  await mkdir(join(source, 'home/user'), { recursive: true });
  await writeFile(join(source, 'usr/bin/tool'), 'a setuid program\n');
  await execa('chmod', ['4755', join(source, 'usr/bin/tool')]);
  await writeFile(join(source, 'home/user/notes'), 'owned by a user\n');
  await execa('chown', ['-R', '1000:1000', join(source, 'home/user')]);
  await symlink('usr/bin', join(source, 'bin'));
  await execa('mknod', ['-m', '666', join(source, 'dev/null'), 'c', '1', '3']);
  await execa('mkfifo', [join(source, 'dev/fifo')]);
  await execa('setfattr', ['-n', 'user.pxe-hil', '-v', 'kept', join(source, 'usr/bin/tool')]);
  // The root's own mode is part of the listing ('.'), and copies keep it.
  await execa('chmod', ['0711', source]);
  before = await directoryDigest(source);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the listing digest of a directory', () => {
  it('counts every entry and the bytes of regular files', () => {
    // ., bin, dev, dev/fifo, dev/null, home, home/user, home/user/notes, tmp, usr, usr/bin, usr/bin/tool
    expect(before.entries).toBe(12);
    expect(before.bytes).toBe('a setuid program\n'.length + 'owned by a user\n'.length);
  });
});

describe('the job copy of a directory', () => {
  it('is a copy with the same listing and extended attributes when the overlay is ruled out', async () => {
    const dir = join(root, 'job-copy');
    const copy = await makeJobRootfs({ kind: 'directory', path: source }, dir, { overlay: false });
    expect(copy).toEqual({ kind: 'copy', method: await cloneOrCopy(), exportPath: join(dir, 'root') });
    expect(await directoryDigest(copy.exportPath)).toEqual(before);
    expect(await xattrOf(join(copy.exportPath, 'usr/bin/tool'))).toBe('kept');
    await writeFile(join(copy.exportPath, 'usr/bin/tool'), 'changed by the board\n');
    expect(await directoryDigest(source)).toEqual(before);
    await removeJobRootfs(dir);
  });

  it('is an overlay of it where the file system has no clones, and no mount is left by trying', async () => {
    const dir = join(root, 'job-overlay');
    const made = await makeJobRootfs({ kind: 'directory', path: source }, dir);
    if ((await cloneOrCopy()) === 'reflink') {
      expect(made.kind).toBe('copy');
      return;
    }
    expect(made).toEqual({
      kind: 'overlay',
      exportPath: join(dir, 'root'),
      lower: source,
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
    });
    expect(await hostMountsNaming('pxe-hil-probe')).toEqual([]);
    // The overlay as the NFS server mounts it, in a mount namespace that ends with the command.
    const script = `mount -t overlay -o lowerdir=${source},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')},index=on,nfs_export=on x ${join(dir, 'root')} && echo changed > ${join(dir, 'root/home/user/notes')} && cat ${join(dir, 'root/usr/bin/tool')}`;
    const { stdout } = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script]);
    expect(stdout).toBe('a setuid program');
    expect(await readFile(join(dir, 'upper/home/user/notes'), 'utf8')).toBe('changed\n');
    expect(await directoryDigest(source)).toEqual(before);
    await removeJobRootfs(dir);
  });
});

describe('the job copy of a tarball', () => {
  for (const [name, flag] of [
    ['root.tar', []],
    ['root.tar.gz', ['--gzip']],
    ['root.tar.xz', ['--xz']],
    ['root.tar.zst', ['--zstd']],
  ] as const) {
    it(`unpacks ${name} with the same listing and extended attributes, and hashes the tarball`, async () => {
      const tarball = join(root, name);
      await execa('tar', ['--create', ...flag, '--xattrs', '--numeric-owner', `--file=${tarball}`, '-C', source, '.']);
      const sum = (await execa('sha256sum', [tarball])).stdout.split(' ')[0];
      const size = Number((await execa('stat', ['-c', '%s', tarball])).stdout);
      expect(await tarballDigest(tarball)).toEqual({ sha256: sum, bytes: size });
      const given = await rootfsSourceOf(tarball);
      const dir = join(root, `job-${name}`);
      const copy = await makeJobRootfs(given, dir);
      expect(copy).toEqual({ kind: 'copy', method: 'unpack', exportPath: join(dir, 'root') });
      expect(await directoryDigest(copy.exportPath)).toEqual(before);
      expect(await xattrOf(join(copy.exportPath, 'usr/bin/tool'))).toBe('kept');
      expect(await tarballDigest(tarball)).toEqual({ sha256: sum, bytes: size });
      await removeJobRootfs(dir);
    });
  }
});

describe('what is not a root file system', () => {
  it('says so in one line', async () => {
    await writeFile(join(root, 'root.zip'), 'PK');
    await expect(rootfsSourceOf(join(root, 'root.zip'))).rejects.toThrow(
      `--rootfs ${join(root, 'root.zip')}: neither a directory nor a tarball (.tar, .tar.gz, .tar.xz, .tar.zst). Fix: give the root file system as one of those.`,
    );
    await expect(rootfsSourceOf(join(root, 'missing'))).rejects.toThrow(
      `--rootfs ${join(root, 'missing')}: no such file or directory. Fix: give a directory or a tarball.`,
    );
  });
});

/** Whether this file system clones files (btrfs, XFS): the copy is then a reflink. */
async function cloneOrCopy(): Promise<'reflink' | 'copy'> {
  await writeFile(join(root, 'clone-probe'), 'x');
  const cloned = await execa('cp', ['--reflink=always', join(root, 'clone-probe'), join(root, 'clone-probe.2')], {
    reject: false,
  });
  return cloned.exitCode === 0 ? 'reflink' : 'copy';
}
