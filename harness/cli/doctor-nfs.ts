/**
 * `hil doctor`'s checks of what an NFS root (--rootfs) needs on this host:
 * nfs-ganesha with its VFS back end, rpcbind and rpcinfo, and nsenter. All
 * optional: a run without --rootfs needs none of them.
 *
 * Tested against: nfs-ganesha 4.3, nfs-ganesha-vfs, rpcbind 1.2.6, util-linux 2.38 (Debian 12).
 * Reference: ganesha.nfsd(8) (-v), dpkg-query(1) (-W -f), Debian 12 package names and file lists.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../core/deadline.js';
import { findProgram, pathDirs } from '../core/find-program.js';
import { runBounded } from '../core/process.js';
import type { Check } from './doctor.js';

const WHAT = 'NFS roots, optional: --rootfs';
const FIX = 'apt-get install nfs-ganesha nfs-ganesha-vfs rpcbind';

/** Where programs are, also the sbin folders an ordinary user's PATH may lack. */
function searchPath(): string[] {
  return [...new Set([...pathDirs(), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'])];
}

/** The VFS back end of nfs-ganesha (libfsalvfs.so), in Debian's multiarch folder or a plain lib folder. */
export function findVfsFsal(roots = ['/usr/lib', '/usr/lib64', '/usr/local/lib']): string | undefined {
  for (const root of roots) {
    const candidates = [join(root, 'ganesha')];
    try {
      for (const entry of readdirSync(root))
        if (entry.endsWith('-linux-gnu')) candidates.push(join(root, entry, 'ganesha'));
    } catch {
      continue;
    }
    for (const dir of candidates) if (existsSync(join(dir, 'libfsalvfs.so'))) return join(dir, 'libfsalvfs.so');
  }
  return undefined;
}

async function output(file: string, args: string[]): Promise<string | undefined> {
  try {
    const result = await runBounded(file, args, { deadline: Deadline.in(10_000, `${file} ${args.join(' ')}`) });
    return result.exitCode === 0 ? `${result.stdout}\n${result.stderr}` : undefined;
  } catch {
    return undefined;
  }
}

/** A Debian package's installed version, for programs that print none. */
async function packageVersion(name: string): Promise<string | undefined> {
  return (await output('dpkg-query', ['-W', '-f=${Version}', name]))?.trim() || undefined;
}

function check(name: string, found: string | undefined, detail: string): Check {
  return found
    ? { name, ok: true, required: false, detail: `${found} (${detail})` }
    : { name, ok: false, required: false, detail: `not found (${detail})`, fix: FIX };
}

export async function nfsChecks(): Promise<Check[]> {
  const ganesha = findProgram('ganesha.nfsd', searchPath());
  const ganeshaVersion = ganesha && /Release = V?(\S+)/.exec((await output(ganesha, ['-v'])) ?? '')?.[1];
  const rpcbind = findProgram('rpcbind', searchPath());
  const rpcinfo = findProgram('rpcinfo', searchPath());
  const nsenter = findProgram('nsenter', searchPath());
  const nsenterVersion = nsenter && /util-linux (\S+)/.exec((await output(nsenter, ['--version'])) ?? '')?.[1];
  const fsal = findVfsFsal();
  return [
    check('ganesha.nfsd', ganesha && (ganeshaVersion ?? ganesha), `the job's NFS server; ${WHAT}`),
    check('ganesha VFS FSAL', fsal, `its file system back end; ${WHAT}`),
    check('rpcbind', rpcbind && ((await packageVersion('rpcbind')) ?? rpcbind), `NFSv3's port mapper; ${WHAT}`),
    check('rpcinfo', rpcinfo && ((await packageVersion('rpcbind')) ?? rpcinfo), `the NFS server's readiness; ${WHAT}`),
    {
      ...check('nsenter', nsenter && (nsenterVersion ?? nsenter), `the NFS server's namespaces; ${WHAT}`),
      ...(nsenter ? {} : { fix: 'apt-get install util-linux' }),
    },
  ];
}
