/**
 * Runs the `hil` command line as an ordinary user (no capabilities), as a
 * user at a desk would, from a root test. It runs in a private mount
 * namespace of its own, where /dev/net/tun is a node with the mode the test
 * asks for (Debian's default 0666, or 0600 to see the check refuse), and
 * where /run can be a fresh tmpfs (a host that never had /run/netns); the
 * host's /dev and /run are not touched. The user's home, cache, TMPDIR,
 * XDG_RUNTIME_DIR and results are in one directory it owns.
 *
 * Reference: setpriv(1), unshare(1), mknod(1), mount(8).
 */
import { cpSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync, type ResultPromise } from 'execa';
import { HIL_COMMAND, REPO } from './hil.js';

/** A uid no account has: every process of it is the test's. */
export const USER_UID = 64000 + (process.pid % 1000);

export type UserHome = { dir: string; cache: string; results: string; runtime: string; env: Record<string, string> };

/** A home for the user with a copy of root's image cache (images prepared up front), all owned by the user. */
export function makeUserHome(rootCache: string): UserHome {
  const dir = mkdtempSync(join(tmpdir(), 'hil-rootless-'));
  const cache = join(dir, 'cache');
  try {
    mkdirSync(cache);
    for (const entry of ['apt-records.json', 'packages', 'images'])
      cpSync(join(rootCache, entry), join(cache, entry), {
        recursive: true,
        preserveTimestamps: true,
        verbatimSymlinks: true,
        // Not the NFS test root (hundreds of MB): the user's runs boot the small image only.
        filter: (source) => !/\/images\/nfsroot-[^/]*$/.test(source),
      });
    for (const sub of ['home', 'tmp', 'results', 'run', 'dev']) mkdirSync(join(dir, sub));
    chownTree(dir, USER_UID);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const runtime = join(dir, 'run');
  return {
    dir,
    cache,
    results: join(dir, 'results'),
    runtime,
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: join(dir, 'home'),
      TMPDIR: join(dir, 'tmp'),
      XDG_RUNTIME_DIR: runtime,
      PXE_HIL_CACHE: cache,
    },
  };
}

function chownTree(path: string, uid: number): void {
  lchownSync(path, uid, uid);
  if (lstatSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid);
}

/** As root in a private mount namespace: the tun node, /run hidden if asked, then the user's command. */
const AS_USER = `set -e
dev=$1 tun_mode=$2 fresh_run=$3 uid=$4; shift 4
mount -t tmpfs -o mode=0755 hil-test-dev "$dev"
mknod -m "$tun_mode" "$dev/tun" c 10 200
mount --bind "$dev/tun" /dev/net/tun
umount -l "$dev"
if [ "$fresh_run" = 1 ]; then
  mount -t tmpfs -o mode=0755 hil-test-run /run
  mkdir -p "/run/user/$uid" && chown "$uid:$uid" "/run/user/$uid" && chmod 0700 "/run/user/$uid"
fi
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all "$@"`;

export type AsUser = {
  tunMode?: '0666' | '0600';
  freshRun?: boolean;
  env?: Record<string, string>;
  /** Variables of the user's environment to leave out (XDG_RUNTIME_DIR, to see a run refuse without it). */
  unset?: string[];
};

/** Starts `hil ARGS` as the user (see above). */
export function startHilAsUser(home: UserHome, args: string[], options: AsUser = {}): ResultPromise {
  const env = {
    ...home.env,
    ...(options.freshRun ? { XDG_RUNTIME_DIR: `/run/user/${USER_UID}` } : {}),
    ...options.env,
  };
  const envArgs = Object.entries(env)
    .filter(([k]) => !options.unset?.includes(k))
    .map(([k, v]) => `${k}=${v}`);
  return execa(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      AS_USER,
      'hil-as-user',
      join(home.dir, 'dev'),
      options.tunMode ?? '0666',
      options.freshRun ? '1' : '0',
      String(USER_UID),
      'env',
      '-i',
      ...envArgs,
      process.execPath,
      ...HIL_COMMAND,
      ...args,
    ],
    { cwd: REPO, reject: false, all: true, stdin: 'ignore', extendEnv: false },
  );
}

/** Runs a short command as the user (no capabilities, no groups), as a second user of the host would. */
export function runAsUser(command: string[], cwd?: string) {
  return execaSync('setpriv', [`--reuid=${USER_UID}`, `--regid=${USER_UID}`, '--clear-groups', ...command], {
    cwd,
    reject: false,
  });
}

/**
 * The live processes of the user: none may be left after a run. Zombies are
 * not counted: they have exited and hold nothing (no namespace, no file),
 * only their exit status until init reaps them.
 */
export function userProcesses(): string[] {
  return execaSync('ps', ['-u', String(USER_UID), '-o', 'pid=,stat=,args='], { reject: false })
    .stdout.split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^\d+\s+Z/.test(line));
}

export function removeUserHome(home: UserHome): void {
  rmSync(home.dir, { recursive: true, force: true });
}
