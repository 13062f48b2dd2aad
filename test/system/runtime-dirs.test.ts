/**
 * Where a run keeps its target locks, job records and sockets: directories of
 * the user that runs it, mode 0700, checked before use. Another local user
 * who makes those directories first (in a world-writable place such as
 * /run/lock or /tmp) and plants symbolic links in them gets the run refused,
 * and nothing outside them is touched. An ordinary user without
 * XDG_RUNTIME_DIR is told to set it; no directory under /tmp is used instead.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabFault } from '../../harness/core/errors.js';
import { lockDir, runtimeRoot } from '../../harness/core/paths.js';
import { lockTarget } from '../../harness/run/target-lock.js';
import { hil, resultsRoot } from '../support/hil.js';
import {
  makeUserHome,
  removeUserHome,
  runAsUser,
  startHilAsUser,
  USER_UID,
  type UserHome,
  userProcesses,
} from '../support/unprivileged.js';

let base: string;
let shared: string;
let results: string;
const PAST = new Date('2001-02-03T04:05:06Z');

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'hil-dirs-'));
  chmodSync(base, 0o755);
  // A world-writable directory with the sticky bit, as /run/lock and /tmp are.
  shared = join(base, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  results = resultsRoot();
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  rmSync(results, { recursive: true, force: true });
});

/** A file of root's that the planted links point at: its content and time must stay as they are. */
function victim(name: string): { path: string; unchanged: () => void } {
  const path = join(base, name);
  writeFileSync(path, 'root:precious:19000::::::\n', { mode: 0o640 });
  utimesSync(path, PAST, PAST);
  return {
    path,
    unchanged: () => {
      expect(readFileSync(path, 'utf8')).toBe('root:precious:19000::::::\n');
      expect(statSync(path).mtime.toISOString()).toBe(PAST.toISOString());
    },
  };
}

/** The entries of a directory with where each link points. */
function listing(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const path = join(dir, name);
      return lstatSync(path).isSymbolicLink() ? `${name} -> ${readlinkSync(path)}` : name;
    });
}

describe('lock and runtime directories on a shared host', () => {
  it('a root run refuses directories another user made, and touches no file the links point at', async () => {
    const owner = victim('shadow-copy');
    const lockPath = join(base, 'made-by-flock');
    const locks = join(shared, 'locks');
    const runtime = join(shared, 'run');
    // The other user gets there first and plants links where a run writes as root.
    const planted = runAsUser([
      'sh',
      '-c',
      'mkdir -m 0777 "$1" "$2" && ln -s "$3" "$1/qemu-x86.owner" && ln -s "$4" "$1/qemu-x86.lock" && ln -s "$3" "$2/job.json"',
      'plant',
      locks,
      runtime,
      owner.path,
      lockPath,
    ]);
    expect(planted.exitCode, planted.stderr).toBe(0);
    const before = { locks: listing(locks), runtime: listing(runtime) };
    expect(before.locks).toEqual([`qemu-x86.lock -> ${lockPath}`, `qemu-x86.owner -> ${owner.path}`]);

    const run = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results, '--lock-timeout', '5'], {
      env: { PXE_HIL_LOCK_DIR: locks, PXE_HIL_RUNTIME_DIR: runtime },
    });
    // Nothing outside the planted directories was touched: not the file a link names, nor a path flock would make.
    owner.unchanged();
    expect(existsSync(lockPath)).toBe(false);
    expect(run.exitCode, run.stdout + run.stderr).toBe(3);
    expect(run.stderr).toBe(
      `pxe-hil: lock directory ${locks} belongs to uid ${USER_UID}, not to this user (uid 0): another user could plant links in it; fix: remove it (rm -r ${locks}) or set PXE_HIL_LOCK_DIR to a directory of your own`,
    );
    expect(run.stdout).toBe('');
    expect({ locks: listing(locks), runtime: listing(runtime) }).toEqual(before);
    expect(readdirSync(results)).toEqual([]);

    // With a lock directory of root's own, the runtime directory is refused the same way.
    const ownLocks = mkdtempSync(join(base, 'locks-'));
    const again = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results], {
      env: { PXE_HIL_LOCK_DIR: ownLocks, PXE_HIL_RUNTIME_DIR: runtime },
    });
    expect(again.exitCode, again.stdout + again.stderr).toBe(3);
    expect(again.stderr).toBe(
      `pxe-hil: runtime directory ${runtime} belongs to uid ${USER_UID}, not to this user (uid 0): another user could plant links in it; fix: remove it (rm -r ${runtime}) or set PXE_HIL_RUNTIME_DIR to a directory of your own`,
    );
    owner.unchanged();
    expect(listing(runtime)).toEqual(before.runtime);
  }, 60_000);

  it('as root, the defaults are /run/pxe-hil and /run/pxe-hil/locks, not the world-writable /run/lock', () => {
    const saved = { runtime: process.env.PXE_HIL_RUNTIME_DIR, locks: process.env.PXE_HIL_LOCK_DIR };
    delete process.env.PXE_HIL_RUNTIME_DIR;
    delete process.env.PXE_HIL_LOCK_DIR;
    try {
      expect(process.getuid?.()).toBe(0);
      expect(runtimeRoot()).toBe('/run/pxe-hil');
      expect(lockDir()).toBe('/run/pxe-hil/locks');
    } finally {
      if (saved.runtime !== undefined) process.env.PXE_HIL_RUNTIME_DIR = saved.runtime;
      if (saved.locks !== undefined) process.env.PXE_HIL_LOCK_DIR = saved.locks;
    }
  });

  it('makes its own lock directory 0700, refuses one others may write, and never follows a link to a lock file', async () => {
    const victimFile = victim('followed');
    const saved = process.env.PXE_HIL_LOCK_DIR;
    try {
      const fresh = join(mkdtempSync(join(base, 'own-')), 'locks');
      process.env.PXE_HIL_LOCK_DIR = fresh;
      const lock = await lockTarget('board-x', 0, () => {});
      await lock.release();
      expect(statSync(fresh).mode & 0o7777).toBe(0o700);
      expect(statSync(join(fresh, 'board-x.lock')).mode & 0o777).toBe(0o600);
      expect(statSync(join(fresh, 'board-x.owner')).mode & 0o777).toBe(0o600);

      // A link in the directory (however it got there) is not followed: the lock is refused.
      symlinkSync(victimFile.path, join(fresh, 'board-y.lock'));
      const refused = await lockTarget('board-y', 0, () => {}).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(LabFault);
      expect((refused as Error).message).toBe(
        `lock file ${join(fresh, 'board-y.lock')} is a symbolic link, not a file pxe-hil made; fix: remove it (rm ${join(fresh, 'board-y.lock')})`,
      );
      victimFile.unchanged();

      // A directory of root's that others may write to is refused too.
      chmodSync(fresh, 0o777);
      const open = await lockTarget('board-x', 0, () => {}).catch((error: unknown) => error);
      expect(open).toBeInstanceOf(LabFault);
      expect((open as Error).message).toBe(
        `lock directory ${fresh} is writable by others (mode 0777): another user could plant links in it; fix: remove it (rm -r ${fresh}) or set PXE_HIL_LOCK_DIR to a directory of your own`,
      );
    } finally {
      if (saved === undefined) delete process.env.PXE_HIL_LOCK_DIR;
      else process.env.PXE_HIL_LOCK_DIR = saved;
    }
  });
});

describe('an ordinary user without XDG_RUNTIME_DIR', () => {
  let home: UserHome;

  beforeAll(async () => {
    const prepared = await hil(['images', '--image', 'busybox']);
    expect(prepared.exitCode, prepared.stderr).toBe(0);
    expect(userProcesses(), `uid ${USER_UID} must be unused`).toEqual([]);
    home = makeUserHome(process.env.PXE_HIL_CACHE ?? join(homedir(), '.cache/pxe-hil'));
  }, 600_000);

  afterAll(() => {
    if (home) removeUserHome(home);
  });

  it('is told to set it, with exit 3, and no directory under /tmp is used instead', async () => {
    const run = await startHilAsUser(
      home,
      ['--target', 'qemu-x86', '--image', 'busybox', '--results', home.results, '--lock-timeout', '5'],
      { unset: ['XDG_RUNTIME_DIR'] },
    );
    expect(run.exitCode, String(run.all)).toBe(3);
    expect(String(run.stderr)).toBe(
      'pxe-hil: XDG_RUNTIME_DIR is not set, and pxe-hil keeps its locks, job records and sockets only in a directory of your own; fix: run it in a login session (which sets XDG_RUNTIME_DIR=/run/user/<uid>), or set XDG_RUNTIME_DIR (or PXE_HIL_RUNTIME_DIR and PXE_HIL_LOCK_DIR) to a directory only you can write',
    );
    expect(String(run.stdout)).toBe('');
    expect(readdirSync(join(home.dir, 'tmp')).filter((name) => name.includes('pxe-hil'))).toEqual([]);
    expect(existsSync('/tmp/pxe-hil-locks') && statSync('/tmp/pxe-hil-locks').uid === USER_UID).toBe(false);
    expect(readdirSync(home.results)).toEqual([]);
    expect(userProcesses()).toEqual([]);
  }, 120_000);
});
