/**
 * Whether this host lets an ordinary user run a job in its own user and
 * network namespaces, and if not, exactly what is missing and the command
 * that fixes it. The decision is a pure function of the host's facts (uid,
 * capabilities, sysctls, /dev/net/tun, unshare), read separately.
 *
 * Tested against: Debian 12 (util-linux 2.38, iproute2 6.1), Linux 6.x. The
 * sysctls of older Debian kernels and of Ubuntu 24.04 follow their documentation.
 * Reference: user_namespaces(7) (/proc/sys/user/max_user_namespaces),
 * capabilities(7) (CapEff: CAP_NET_ADMIN = 12, CAP_SYS_ADMIN = 21),
 * Debian's kernel.unprivileged_userns_clone patch, Ubuntu's
 * kernel.apparmor_restrict_unprivileged_userns, unshare(1), and the Linux
 * tun driver (Documentation/networking/tuntap.rst: opening /dev/net/tun).
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findProgram } from '../core/find-program.js';

export const CAP_NET_ADMIN = 12n;
export const CAP_SYS_ADMIN = 21n;

export type HostFacts = {
  uid: number;
  /** Effective capabilities (CapEff of /proc/self/status). */
  capEff: bigint;
  /** Sysctl values as the files under /proc/sys hold them; undefined where the file does not exist. */
  maxUserNamespaces?: string;
  unprivilegedUsernsClone?: string;
  apparmorRestrictUnprivilegedUserns?: string;
  /** /dev/net/tun: missing, present but not readable and writable by this user, or usable. */
  tun: 'missing' | 'no-access' | 'ok';
  tunMode?: number;
  /** unshare(1) found on PATH. */
  unshare: boolean;
};

export type RootlessProblem = { missing: string; fix: string };

/** Whether a run needs its own user namespace: it lacks CAP_NET_ADMIN or CAP_SYS_ADMIN (ip netns add needs both). */
export function needsUserNamespace(facts: Pick<HostFacts, 'capEff'>): boolean {
  const has = (cap: bigint) => ((facts.capEff >> cap) & 1n) === 1n;
  return !(has(CAP_NET_ADMIN) && has(CAP_SYS_ADMIN));
}

const SUFFIX = ' (or run as root)';

/** The first thing that keeps an ordinary user from running a job here, or undefined when nothing does. */
export function rootlessProblem(facts: HostFacts): RootlessProblem | undefined {
  if (!facts.unshare)
    return { missing: 'unshare(1) from util-linux, which is not on PATH', fix: 'sudo apt-get install util-linux' };
  if (facts.maxUserNamespaces !== undefined && Number(facts.maxUserNamespaces.trim()) === 0) {
    return {
      missing: 'user namespaces, which this host turns off (user.max_user_namespaces = 0)',
      fix: 'sudo sysctl -w user.max_user_namespaces=15000',
    };
  }
  if (facts.unprivilegedUsernsClone !== undefined && facts.unprivilegedUsernsClone.trim() === '0') {
    return {
      missing: 'user namespaces for ordinary users, which this host turns off (kernel.unprivileged_userns_clone = 0)',
      fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1',
    };
  }
  if (
    facts.apparmorRestrictUnprivilegedUserns !== undefined &&
    facts.apparmorRestrictUnprivilegedUserns.trim() === '1'
  ) {
    return {
      missing:
        'user namespaces with capabilities, which AppArmor restricts for ordinary users (kernel.apparmor_restrict_unprivileged_userns = 1)',
      fix: 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
    };
  }
  if (facts.tun === 'missing')
    return { missing: '/dev/net/tun (tap devices for QEMU boards), which does not exist', fix: 'sudo modprobe tun' };
  if (facts.tun === 'no-access') {
    const mode = facts.tunMode === undefined ? '' : `, mode ${(facts.tunMode & 0o777).toString(8).padStart(4, '0')}`;
    return {
      missing: `read-write access to /dev/net/tun (tap devices for QEMU boards${mode})`,
      fix: 'sudo chmod 0666 /dev/net/tun',
    };
  }
  return undefined;
}

/** The one-line message for a problem: what is missing and the command that fixes it. */
export function describeRootlessProblem(problem: RootlessProblem): string {
  return `running without root needs ${problem.missing}; fix: ${problem.fix}${SUFFIX}`;
}

function readSysctl(procSys: string, name: string): string | undefined {
  try {
    return readFileSync(join(procSys, ...name.split('.')), 'utf8');
  } catch {
    return undefined;
  }
}

/** This host's facts, from /proc and /dev (the directories can be pointed elsewhere for tests). */
export function readHostFacts(paths: { procSys?: string; status?: string; tun?: string } = {}): HostFacts {
  const procSys = paths.procSys ?? '/proc/sys';
  const tunPath = paths.tun ?? '/dev/net/tun';
  const status = readFileSync(paths.status ?? '/proc/self/status', 'utf8');
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
  let tun: HostFacts['tun'] = 'ok';
  let tunMode: number | undefined;
  if (!existsSync(tunPath)) tun = 'missing';
  else {
    try {
      accessSync(tunPath, constants.R_OK | constants.W_OK);
    } catch {
      tun = 'no-access';
    }
    tunMode = statSync(tunPath).mode;
  }
  return {
    uid: process.getuid?.() ?? -1,
    capEff: hex ? BigInt(`0x${hex}`) : 0n,
    maxUserNamespaces: readSysctl(procSys, 'user.max_user_namespaces'),
    unprivilegedUsernsClone: readSysctl(procSys, 'kernel.unprivileged_userns_clone'),
    apparmorRestrictUnprivilegedUserns: readSysctl(procSys, 'kernel.apparmor_restrict_unprivileged_userns'),
    tun,
    tunMode,
    unshare: findProgram('unshare') !== undefined,
  };
}
