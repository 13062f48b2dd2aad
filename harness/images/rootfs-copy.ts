/**
 * A root file system given for a job (a directory, or a tarball: .tar,
 * .tar.gz, .tar.xz, .tar.zst) and the job's own copy of it, which the board
 * gets as its NFS root and may write to; the one given is never written.
 *
 * The copy is made as cheaply as the file systems allow: a directory is
 * cloned (cp --reflink=always) where its file system shares blocks (btrfs,
 * XFS), else overlaid (the given directory as the lower layer, the board's
 * writes in an upper layer of the job's; the overlay is mounted by the NFS
 * server in its own mount namespace), else copied (cp -a); a tarball is
 * unpacked. Owners, modes, device nodes and extended attributes are kept
 * (run as root). An overlay shares the given directory for the job's time:
 * the board sees what is changed in it meanwhile, so its digest pins what the
 * job started with only as long as nobody changes it.
 *
 * Provenance: a tarball's SHA-256 and size; a directory's listing digest
 * (listingLine says exactly what it covers). Files are read with O_NOATIME
 * where the kernel allows, so not even their access times change.
 *
 * Tested against: GNU coreutils 9.1 (cp), GNU tar 1.34 with gzip, xz-utils and
 * zstd, util-linux 2.38 (unshare, mount), Linux 6.x overlayfs on ext4.
 * Reference: cp(1) (--reflink, -a), tar(1) (--xattrs, --numeric-owner, -p),
 * Linux Documentation/filesystems/overlayfs.rst (index, nfs_export), open(2) (O_NOATIME).
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, type Stats, statSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readlink, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Deadline } from '../core/deadline.js';
import { UsageError } from '../core/errors.js';
import { runBounded, tailOf } from '../core/process.js';

export type TarCompression = 'none' | 'gzip' | 'xz' | 'zstd';
export type RootfsSource =
  | { kind: 'directory'; path: string }
  | { kind: 'tarball'; path: string; compression: TarCompression };

const TARBALL_SUFFIXES: [RegExp, TarCompression][] = [
  [/\.tar$/, 'none'],
  [/\.(tar\.gz|tgz)$/, 'gzip'],
  [/\.(tar\.xz|txz)$/, 'xz'],
  [/\.(tar\.zst|tzst)$/, 'zstd'],
];

/** The compression of a tarball by its name; undefined when the name is not one of a tarball. */
export function tarCompressionOf(path: string): TarCompression | undefined {
  return TARBALL_SUFFIXES.find(([suffix]) => suffix.test(path))?.[1];
}

/** What `path` is as a root file system; a UsageError in one line when it is neither a directory nor a tarball. */
export async function rootfsSourceOf(path: string, origin = '--rootfs'): Promise<RootfsSource> {
  return checkRootfs(origin, path);
}

/**
 * Checks, before anything starts, that `path` is a readable directory or a
 * readable tarball of a kind the job can unpack; a UsageError in one line
 * naming `origin` otherwise. The path is made absolute.
 */
export function checkRootfs(origin: string, path: string): RootfsSource {
  const absolute = resolve(path);
  let info: Stats;
  try {
    info = statSync(absolute);
  } catch {
    throw new UsageError(`${origin} ${path}: no such file or directory. Fix: give a directory or a tarball.`);
  }
  const compression = tarCompressionOf(absolute);
  if (!info.isDirectory() && !(info.isFile() && compression))
    throw new UsageError(
      `${origin} ${path}: neither a directory nor a tarball (.tar, .tar.gz, .tar.xz, .tar.zst). Fix: give the root file system as one of those.`,
    );
  try {
    accessSync(absolute, info.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
  } catch {
    throw new UsageError(`${origin} ${path}: cannot be read by this user. Fix: its permissions.`);
  }
  return info.isDirectory()
    ? { kind: 'directory', path: absolute }
    : { kind: 'tarball', path: absolute, compression: compression! };
}

export type JobRootfs =
  | { kind: 'copy'; method: 'reflink' | 'copy' | 'unpack'; exportPath: string }
  /** The NFS server mounts the overlay at exportPath in its own mount namespace (nfs-server.ts, ExportOverlay). */
  | { kind: 'overlay'; exportPath: string; lower: string; upper: string; work: string };

const COPY_TIMEOUT_MS = 20 * 60_000;

/**
 * Makes the job's copy of `source` under `dir` (which must not exist yet or
 * be empty; it is the job's, and removeJobRootfs removes it whole).
 * `overlay: false` rules the overlay out (a copy that pins the content).
 */
export async function makeJobRootfs(
  source: RootfsSource,
  dir: string,
  options: { overlay?: boolean } = {},
): Promise<JobRootfs> {
  const exportPath = join(dir, 'root');
  await mkdir(exportPath, { recursive: true, mode: 0o755 });
  if (source.kind === 'tarball') {
    await tool('tar', unpackArguments(source, exportPath), `unpack ${source.path}`);
    return { kind: 'copy', method: 'unpack', exportPath };
  }
  // 'dir/.': the directory's content and its own owner and mode, into the existing export directory.
  const from = `${source.path.replace(/\/+$/, '')}/.`;
  const cloned = await runBounded('cp', ['-a', '--reflink=always', from, exportPath], {
    deadline: Deadline.in(COPY_TIMEOUT_MS, `cloning ${source.path}`),
  });
  if (cloned.exitCode === 0) return { kind: 'copy', method: 'reflink', exportPath };
  await rm(exportPath, { recursive: true, force: true });
  await mkdir(exportPath, { mode: 0o755 });
  if (options.overlay !== false) {
    const layers = { lower: source.path, upper: join(dir, 'upper'), work: join(dir, 'work') };
    if (await overlayWorks(layers, dir)) {
      await mkdir(layers.upper);
      await mkdir(layers.work);
      return { kind: 'overlay', exportPath, ...layers };
    }
  }
  await tool('cp', ['-a', from, exportPath], `copy ${source.path}`);
  return { kind: 'copy', method: 'copy', exportPath };
}

/** tar's arguments to unpack a tarball as root: numeric owners, modes, device nodes, extended attributes and ACLs. */
export function unpackArguments(source: { path: string; compression: TarCompression }, into: string): string[] {
  const filter = { none: [], gzip: ['--gzip'], xz: ['--xz'], zstd: ['--zstd'] }[source.compression];
  return [
    '--extract',
    ...filter,
    `--file=${source.path}`,
    `--directory=${into}`,
    '--numeric-owner',
    '--same-owner',
    '--preserve-permissions',
    '--xattrs',
    '--xattrs-include=*',
    '--acls',
  ];
}

/**
 * Whether the kernel mounts an overlay of `lower` that the NFS server can
 * export (index=on, nfs_export=on need file handles on every layer): tried
 * in a mount namespace of its own that ends with the try, with empty layers
 * made and removed here.
 */
async function overlayWorks(layers: { lower: string }, dir: string): Promise<boolean> {
  const probe = await mkdtemp(join(dir, '.overlay-probe-'));
  try {
    for (const sub of ['upper', 'work', 'merged']) await mkdir(join(probe, sub));
    const options = `lowerdir=${layers.lower},upperdir=${probe}/upper,workdir=${probe}/work,index=on,nfs_export=on`;
    if (/[,:\s]/.test(layers.lower)) return false;
    const tried = await runBounded(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'mount',
        '-t',
        'overlay',
        '-o',
        options,
        'pxe-hil-probe',
        join(probe, 'merged'),
      ],
      { deadline: Deadline.in(10_000, 'an overlay mount to be tried') },
    );
    return tried.exitCode === 0;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

async function tool(file: string, args: string[], what: string): Promise<void> {
  const result = await runBounded(file, args, { deadline: Deadline.in(COPY_TIMEOUT_MS, what) });
  if (result.exitCode !== 0)
    throw new UsageError(
      `could not ${what}: ${tailOf(result.stderr || result.stdout)}. Fix: check the root file system given.`,
    );
}

/** Removes the job's copy (the directory given to makeJobRootfs), whole. */
export async function removeJobRootfs(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export type Digest = { sha256: string; bytes: number };
export type ListingDigest = Digest & { entries: number };

/** Opens for reading without updating the access time where the kernel lets this process (the owner, or root). */
async function openQuietly(path: string) {
  try {
    return await open(path, constants.O_RDONLY | constants.O_NOATIME);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    return open(path, constants.O_RDONLY);
  }
}

async function hashFile(path: string): Promise<Digest> {
  const handle = await openQuietly(path);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream('', { fd: handle.fd, autoClose: false }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** A tarball's SHA-256 and size. */
export function tarballDigest(path: string): Promise<Digest> {
  return hashFile(path);
}

export type ListingEntry = {
  /** Relative to the root, '/'-separated; the root itself is '.'. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket';
  /** Permission bits with setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files: their size; others 0. */
  size: number;
  /** Regular files: the SHA-256 of their content. */
  sha256?: string;
  /** Symlinks: their target as stored. */
  target?: string;
  /** Device nodes: major and minor. */
  device?: [number, number];
};

const TYPE_LETTER: Record<ListingEntry['type'], string> = {
  file: 'f',
  dir: 'd',
  symlink: 'l',
  chardev: 'c',
  blockdev: 'b',
  fifo: 'p',
  socket: 's',
};

/**
 * One line of a directory's listing: type letter, mode (4 octal digits),
 * uid, gid, size, content SHA-256 (regular files, else '-'), device
 * major:minor (device nodes, else '-'), then the path and, for a symlink, its
 * target, both JSON strings (so any byte of a name is kept and nothing can
 * pass for a field separator). Not covered: times, extended attributes (so
 * file capabilities), ACLs, and which paths are hard links of each other.
 */
export function listingLine(entry: ListingEntry): string {
  return [
    TYPE_LETTER[entry.type],
    (entry.mode & 0o7777).toString(8).padStart(4, '0'),
    entry.uid,
    entry.gid,
    entry.size,
    entry.sha256 ?? '-',
    entry.device ? `${entry.device[0]}:${entry.device[1]}` : '-',
    JSON.stringify(entry.path),
    ...(entry.target !== undefined ? [JSON.stringify(entry.target)] : []),
  ].join(' ');
}

/** The listing digest: SHA-256 of the lines of every entry, sorted by path (code units), each ending in '\n'. */
export function listingDigest(entries: readonly ListingEntry[]): ListingDigest {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = createHash('sha256');
  for (const entry of sorted) hash.update(`${listingLine(entry)}\n`);
  const bytes = sorted.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0);
  return { sha256: hash.digest('hex'), bytes, entries: sorted.length };
}

function typeOf(info: Stats): ListingEntry['type'] {
  if (info.isFile()) return 'file';
  if (info.isDirectory()) return 'dir';
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isCharacterDevice()) return 'chardev';
  if (info.isBlockDevice()) return 'blockdev';
  if (info.isFIFO()) return 'fifo';
  return 'socket';
}

/** Linux's dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31. */
export function majorMinor(rdev: number): [number, number] {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return [major, minor];
}

async function entryOf(root: string, path: string): Promise<ListingEntry> {
  const full = path === '.' ? root : join(root, path);
  const info = await lstat(full);
  const type = typeOf(info);
  const entry: ListingEntry = { path, type, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, size: 0 };
  if (type === 'file') {
    const content = await hashFile(full);
    entry.size = content.bytes;
    entry.sha256 = content.sha256;
  } else if (type === 'symlink') entry.target = await readlink(full);
  else if (type === 'chardev' || type === 'blockdev') entry.device = majorMinor(info.rdev);
  return entry;
}

/**
 * Every entry under `root`, the root itself as '.'; symlinks are listed, never
 * followed (Node's own recursive readdir follows them into directories, which
 * for a root file system's absolute links would read the host's files).
 */
export async function listDirectory(root: string): Promise<ListingEntry[]> {
  const paths = ['.'];
  const pending = ['.'];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const child of await readdir(dir === '.' ? root : join(root, dir), { withFileTypes: true })) {
      const path = dir === '.' ? child.name : `${dir}/${child.name}`;
      paths.push(path);
      if (child.isDirectory()) pending.push(path);
    }
  }
  const entries: ListingEntry[] = [];
  // A few files at a time: hashing is bound by the disk, not by one stream.
  for (let i = 0; i < paths.length; i += 8)
    entries.push(...(await Promise.all(paths.slice(i, i + 8).map((p) => entryOf(root, p)))));
  return entries;
}

/** A directory's listing digest (see listingLine), read without changing it. */
export async function directoryDigest(root: string): Promise<ListingDigest> {
  return listingDigest(await listDirectory(root));
}
