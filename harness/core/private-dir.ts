/**
 * The directories a run keeps its target locks, job records and sockets in,
 * and the files it makes there, safe on a host other users share: each
 * directory belongs to the user that runs the harness, has mode 0700, is not
 * a symbolic link, and sits in a parent no other user can rename it out of
 * (owned by root or the user; if others may write there, sticky, as /tmp
 * and /run/lock are). A directory that fails is refused with a LabFault
 * naming it and the fix, never used or repaired. Files in them are opened
 * with O_NOFOLLOW, so a link planted where a file goes is refused too.
 *
 * Reference: open(2) (O_NOFOLLOW, ELOOP), inode(7) (S_ISVTX), path_resolution(7).
 */
import {
  chmodSync,
  closeSync,
  constants,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  statSync,
  writeSync,
} from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { dirname } from 'node:path';
import { LabFault } from './errors.js';
import { lockDir, runtimeRoot } from './paths.js';

/** How a directory is named in messages, and the variable that moves it. */
export type PrivateDirRole = { what: string; variable: string };

export const LOCK_DIR_ROLE: PrivateDirRole = { what: 'lock directory', variable: 'PXE_HIL_LOCK_DIR' };
export const RUNTIME_DIR_ROLE: PrivateDirRole = { what: 'runtime directory', variable: 'PXE_HIL_RUNTIME_DIR' };

/** Makes `dir` (mode 0700) when it is missing, then checks it; returns it. */
export function ensurePrivateDir(dir: string, role: PrivateDirRole): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return checkPrivateDir(dir, role);
}

/** A run's lock and runtime directories, made and checked before anything starts (the lock first, as the run). */
export function prepareRunDirs(): { locks: string; runtime: string } {
  const locks = ensurePrivateDir(lockDir(), LOCK_DIR_ROLE);
  return { locks, runtime: ensurePrivateDir(runtimeRoot(), RUNTIME_DIR_ROLE) };
}

/** Checks an existing directory as ensurePrivateDir does; throws a LabFault naming it and the fix. */
export function checkPrivateDir(dir: string, role: PrivateDirRole): string {
  const refuse = (why: string) =>
    new LabFault(
      `${role.what} ${dir} ${why}; fix: remove it (rm -r ${dir}) or set ${role.variable} to a directory of your own`,
    );
  const uid = process.geteuid?.() ?? 0;
  const stats = lstatSync(dir);
  if (stats.isSymbolicLink()) throw refuse('is a symbolic link: another user could point it anywhere');
  if (!stats.isDirectory()) throw refuse('is not a directory');
  if (stats.uid !== uid)
    throw refuse(`belongs to uid ${stats.uid}, not to this user (uid ${uid}): another user could plant links in it`);
  if ((stats.mode & 0o022) !== 0)
    throw refuse(`is writable by others (mode ${modeOf(stats.mode)}): another user could plant links in it`);
  checkParent(dir, uid, refuse);
  // Readable by others (an older version's 0755): the owner's to tighten.
  if ((stats.mode & 0o7777) !== 0o700) chmodSync(dir, 0o700);
  return dir;
}

/**
 * The parent must keep others from renaming the directory away and putting
 * their own in its place. Skipped in the run's own user namespace, where the
 * host's users all show as one unmapped uid: the host side checked it before.
 */
function checkParent(dir: string, uid: number, refuse: (why: string) => LabFault): void {
  if (process.env.PXE_HIL_USER_NAMESPACE === '1') return;
  const parent = dirname(dir);
  const stats = statSync(parent);
  const othersWrite = (stats.mode & 0o022) !== 0 && (stats.mode & STICKY) === 0;
  if ((stats.uid !== 0 && stats.uid !== uid) || othersWrite)
    throw refuse(`is in ${parent} (uid ${stats.uid}, mode ${modeOf(stats.mode)}), where another user could replace it`);
}

/** S_ISVTX: in a sticky directory only an entry's owner may rename or remove it. */
const STICKY = 0o1000;

function modeOf(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Opens a file in a private directory (read-write, made 0600 if missing), refusing a symbolic link. */
export function openPrivateFile(path: string, what: string, flags = 0): number {
  try {
    return openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | flags, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP')
      throw new LabFault(`${what} ${path} is a symbolic link, not a file pxe-hil made; fix: remove it (rm ${path})`);
    throw error;
  }
}

/** Replaces the content of a file in a private directory (0600), refusing a symbolic link. */
export function writePrivateFile(path: string, what: string, text: string): void {
  const fd = openPrivateFile(path, what);
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, text, 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Listens on a unix socket in a private directory, made 0600 at once: only
 * the user may connect, whatever the process's umask (the 0700 directory
 * keeps others out in the instant between).
 */
export async function listenPrivate(server: Server, socketPath: string): Promise<void> {
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
}
