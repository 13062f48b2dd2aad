/**
 * The board's root file system for the job: the user's directory or tarball
 * copied at job start into the job's files on disk (<cache>/jobs/<job id>/rootfs;
 * never under /run, which the NFS server's mount namespace replaces), so the
 * board gets what the job started with and writes only into the job's copy.
 * A directory is cloned where the file system shares blocks (cp --reflink),
 * else copied; a tarball is unpacked. The overlay rootfs-copy.ts can make is
 * not used: it would show the board what changes in the user's directory
 * during the job. Reported with its provenance (a tarball's SHA-256 and size,
 * a directory's listing digest), and at the end removed, or kept in the
 * results when asked (--keep-rootfs).
 */
import { join } from 'node:path';
import { Deadline } from '../../core/deadline.js';
import { LabFault } from '../../core/errors.js';
import { jobRootfsDir } from '../../core/paths.js';
import { runBounded, tailOf } from '../../core/process.js';
import type { RootfsRequest } from '../../images/image.js';
import { directoryDigest, makeJobRootfs, removeJobRootfs, tarballDigest } from '../../images/rootfs-copy.js';
import type { JobContext } from '../job-context.js';

/** The path the board mounts its root from, on the job's NFS server. */
export const NFS_ROOT_PATH = '/rootfs';

export type PinnedRootfs = {
  request: RootfsRequest;
  /** The job's directory for it (removed whole at the end). */
  dir: string;
  /** The job's copy: what the NFS server exports. */
  exportPath: string;
  method: 'reflink' | 'copy' | 'unpack';
  copyMs: number;
  sha256: string;
  bytes: number;
  /** 'content': the tarball's SHA-256; 'listing': the directory's listing digest (rootfs-copy.ts, listingLine). */
  digest: 'content' | 'listing';
  entries?: number;
};

/** Makes the job's copy of its root file system (when it has one) and reports it with its provenance. */
export async function pinRootfs(job: JobContext): Promise<PinnedRootfs | undefined> {
  const request = job.image.rootfs;
  if (!request) return undefined;
  const dir = jobRootfsDir(job.jobId);
  job.teardown.add("remove the job's copy of its root file system", () => keepOrRemove(job, dir));
  const started = performance.now();
  const copying = makeJobRootfs(request, dir, { overlay: false }).then((copy) => ({
    copy,
    copyMs: performance.now() - started,
  }));
  // A tarball is hashed as it is unpacked (both read it at once); a directory's listing is read from the copy.
  const [{ copy, copyMs }, tarball] = await Promise.all([
    copying,
    request.kind === 'tarball' ? tarballDigest(request.path) : undefined,
  ]);
  if (copy.kind !== 'copy') throw new LabFault(`the job's copy of ${request.path} is not a copy`);
  const listing = tarball ? undefined : await directoryDigest(copy.exportPath);
  const pinned: PinnedRootfs = {
    request,
    dir,
    exportPath: copy.exportPath,
    method: copy.method,
    copyMs,
    sha256: (tarball ?? listing)!.sha256,
    bytes: (tarball ?? listing)!.bytes,
    digest: tarball ? 'content' : 'listing',
    ...(listing ? { entries: listing.entries } : {}),
  };
  job.bus.emit({ type: 'rootfs', state: 'pinned', path: copy.exportPath, method: copy.method, durationMs: copyMs });
  job.bus.emit({
    type: 'artifact',
    role: 'rootfs',
    name: NFS_ROOT_PATH,
    source: request.path,
    bytes: pinned.bytes,
    sha256: pinned.sha256,
    digest: pinned.digest,
    ...(pinned.entries !== undefined ? { entries: pinned.entries } : {}),
  });
  return pinned;
}

/** "rootfs /x/root.tar (unpacked in 4.1 s, 345085440 bytes, sha256 0123456789ab)", for the images stage's line. */
export function describePinnedRootfs(rootfs: PinnedRootfs): string {
  const how = { reflink: 'cloned', copy: 'copied', unpack: 'unpacked' }[rootfs.method];
  const digest = rootfs.digest === 'listing' ? `${rootfs.entries} entries, listing sha256` : 'sha256';
  return `rootfs ${rootfs.request.path} (${how} in ${(rootfs.copyMs / 1000).toFixed(1)} s, ${rootfs.bytes} bytes, ${digest} ${rootfs.sha256.slice(0, 12)})`;
}

/** At the end: the copy moved into the results when asked (--keep-rootfs), else removed. */
async function keepOrRemove(job: JobContext, dir: string): Promise<void> {
  const results = job.results;
  try {
    if (!job.options.keepRootfs || !results) return;
    const kept = join(results.dir, 'rootfs');
    // mv renames on one file system and copies across two, keeping owners, modes and device nodes.
    const moved = await runBounded('mv', ['--no-target-directory', join(dir, 'root'), kept], {
      deadline: Deadline.in(20 * 60_000, "moving the job's root file system into the results"),
    });
    if (moved.exitCode !== 0) throw new LabFault(`could not keep the job's root file system: ${tailOf(moved.stderr)}`);
    job.bus.emit({ type: 'rootfs', state: 'kept', path: kept });
  } finally {
    await removeJobRootfs(dir);
  }
}
