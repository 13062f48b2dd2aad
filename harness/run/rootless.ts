/**
 * A job run by an ordinary user: the command line re-executes itself once
 * under unshare(1) in new user, network and mount namespaces, as root of its
 * own user namespace (mapped to the user). In its private mount namespace a
 * tmpfs on /run/netns lets `ip netns add` work unchanged; the job's network
 * namespace lives there, unseen by the host's `ip netns list`, and goes away
 * with the job's processes. The runtime root and the lock directory are the
 * user's own and stay shared between the user's jobs (locks, recovery).
 *
 * Tested against: util-linux 2.38 unshare and mount, iproute2 6.1, Linux 6.x.
 * Reference: unshare(1) (--user --map-root-user --net --mount), user_namespaces(7),
 * mount_namespaces(7), ip-netns(8), proc(5) (/proc/<pid>/fd).
 */
import { constants } from 'node:os';
import { startForeground } from '../core/process.js';
import { LabFault } from '../core/errors.js';
import { run } from '../core/process.js';
import { prepareRunDirs } from '../core/private-dir.js';
import {
  describeRootlessProblem,
  readHostFacts,
  rootlessProblem,
  type HostFacts,
  type RootlessProblem,
} from './rootless-check.js';

/** Set in the re-executed command line, so that it never re-executes itself again. */
export const USER_NAMESPACE_ENV = 'PXE_HIL_USER_NAMESPACE';

const UNSHARE_ARGS = ['--user', '--map-root-user', '--net', '--mount'];

/**
 * Run in the new namespaces before the harness. Where the host has /run/netns,
 * a tmpfs goes on it; where it does not (no namespace was ever added), a tmpfs
 * goes on /run and the runtime and lock directories under it are bound back
 * from the host's /run, held open as fd 3.
 */
export const NAMESPACE_SETUP = `set -e
if [ -d /run/netns ]; then
  mount -t tmpfs -o mode=0755,size=1m pxe-hil-netns /run/netns
else
  exec 3</run
  mount -t tmpfs -o mode=0755,size=1m pxe-hil-run /run
  mkdir /run/netns
  for dir in "$PXE_HIL_RUNTIME_DIR" "$PXE_HIL_LOCK_DIR"; do
    case "$dir" in /run/*) mkdir -p "$dir"; mount --no-canonicalize --bind "/proc/self/fd/3/\${dir#/run/}" "$dir";; esac
  done
  exec 3<&-
fi
exec "$@"`;

export type Reexec = { file: string; args: string[]; env: Record<string, string> };

/** The command that runs this command line again in its own namespaces, with the user's runtime and lock directories. */
export function userNamespaceCommand(
  self: { execPath: string; execArgv: string[]; argv: string[] },
  dirs: { runtime: string; locks: string },
): Reexec {
  return {
    file: 'unshare',
    args: [
      ...UNSHARE_ARGS,
      '--',
      'sh',
      '-c',
      NAMESPACE_SETUP,
      'pxe-hil-namespaces',
      self.execPath,
      ...self.execArgv,
      ...self.argv,
    ],
    env: { [USER_NAMESPACE_ENV]: '1', PXE_HIL_RUNTIME_DIR: dirs.runtime, PXE_HIL_LOCK_DIR: dirs.locks },
  };
}

/** Tries the namespaces once (unshare ... true): catches what the sysctls do not show (seccomp, nesting limits). */
async function probe(): Promise<RootlessProblem | undefined> {
  try {
    await run('unshare', [...UNSHARE_ARGS, 'true'], { timeoutMs: 10_000 });
    return undefined;
  } catch (error) {
    const why = (error as Error).message.replace(/^.*?: /, '');
    return {
      missing: `user namespaces, which this host refused (${why})`,
      fix: 'allow unprivileged user namespaces (sysctl user.max_user_namespaces, the seccomp policy of a container)',
    };
  }
}

/** What keeps this user from running jobs here, checked on the host and tried once; undefined when nothing does. */
export async function userNamespaceProblem(facts: HostFacts = readHostFacts()): Promise<RootlessProblem | undefined> {
  return rootlessProblem(facts) ?? (await probe());
}

/**
 * Runs this command line again in its own namespaces and returns its exit
 * code. SIGINT, SIGTERM and SIGHUP are passed on to it by pid (it has its own
 * process group), so it tears down as a run as root would. It shares this
 * process's stdout and stderr (not through startChild's pipes), so that it
 * still writes to the terminal when there is one (the live view).
 */
export async function runInUserNamespace(): Promise<number> {
  if (process.env[USER_NAMESPACE_ENV] === '1')
    throw new LabFault('the run already is in its own user namespace but lacks CAP_NET_ADMIN there; run it as root');
  const problem = await userNamespaceProblem();
  if (problem) throw new LabFault(describeRootlessProblem(problem));
  const dirs = prepareRunDirs();
  const command = userNamespaceCommand(
    { execPath: process.execPath, execArgv: process.execArgv, argv: process.argv.slice(1) },
    dirs,
  );
  const child = startForeground(command.file, command.args, command.env);
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
  const result = await child.exited;
  if (result.exitCode !== undefined) return result.exitCode;
  return 128 + (result.signal ? constants.signals[result.signal as NodeJS.Signals] : 0);
}
