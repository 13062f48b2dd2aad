/**
 * `hil doctor`: checks that this host can run jobs (programs and their
 * versions, the tun device, network privileges) and prints, for each thing
 * missing, the exact command that fixes it. With --cleanup it also removes
 * what crashed jobs left behind (see harness/run/recovery.ts).
 *
 * Reference: capabilities(7) (CapEff in /proc/self/status, CAP_NET_ADMIN = 12,
 * CAP_NET_RAW = 13); Debian 12 package names. Without them, the checks of a
 * run in its own user namespace (harness/run/rootless-check.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { Deadline } from '../core/deadline.js';
import { lockDir, runtimeRoot } from '../core/paths.js';
import { checkPrivateDir, LOCK_DIR_ROLE, RUNTIME_DIR_ROLE } from '../core/private-dir.js';
import { runBounded } from '../core/process.js';
import { OVMF_CODE, OVMF_VARS } from '../power/qemu.js';
import { describeRecovery, findStaleJobs, recoverStaleJobs } from '../run/recovery.js';
import { userNamespaceProblem } from '../run/rootless.js';
import { needsUserNamespace } from '../run/rootless-check.js';
import { nfsChecks } from './doctor-nfs.js';

export type Check = { name: string; ok: boolean; required: boolean; detail: string; fix?: string };

async function version(program: string, args: string[], pattern: RegExp): Promise<string | undefined> {
  try {
    const result = await runBounded(program, args, { deadline: Deadline.in(10_000, `${program} ${args.join(' ')}`) });
    if (result.exitCode === null) return undefined;
    const text = [result.stdout, result.stderr].filter(Boolean).join('\n');
    return pattern.exec(text)?.[1] ?? text.split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

const PROGRAMS: { program: string; args: string[]; pattern: RegExp; fix: string; required: boolean; what: string }[] = [
  {
    program: 'qemu-system-x86_64',
    args: ['--version'],
    pattern: /version (\S+)/,
    fix: 'apt-get install qemu-system-x86 ipxe-qemu seabios',
    required: true,
    what: 'the virtual board',
  },
  {
    program: 'dnsmasq',
    args: ['--version'],
    pattern: /Dnsmasq version (\S+)/,
    fix: 'apt-get install dnsmasq-base',
    required: true,
    what: 'the per-job DHCP server',
  },
  {
    program: 'ip',
    args: ['-V'],
    pattern: /iproute2-([0-9.]+[0-9])/,
    fix: 'apt-get install iproute2',
    required: true,
    what: 'network namespaces',
  },
  {
    program: 'flock',
    args: ['--version'],
    pattern: /util-linux (\S+)/,
    fix: 'apt-get install util-linux',
    required: true,
    what: 'target locks',
  },
  {
    program: 'nft',
    args: ['--version'],
    pattern: /nftables v(\S+)/,
    fix: 'apt-get install nftables',
    required: false,
    what: "lab targets: only the board's MAC reaches the job",
  },
  {
    program: 'qemu-system-aarch64',
    args: ['--version'],
    pattern: /version (\S+)/,
    fix: 'apt-get install qemu-system-arm u-boot-qemu',
    required: false,
    what: 'the virtual U-Boot board (optional)',
  },
  {
    program: 'mkimage',
    args: ['-V'],
    pattern: /mkimage version (\S+)/,
    fix: 'apt-get install u-boot-tools',
    required: false,
    what: 'U-Boot boot scripts (optional)',
  },
  {
    program: 'java',
    args: ['-version'],
    pattern: /version "([^"]+)"/,
    fix: 'apt-get install default-jre-headless',
    required: false,
    what: 'report tools (optional)',
  },
];

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

export async function runChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  for (const p of PROGRAMS) {
    const found = await version(p.program, p.args, p.pattern);
    checks.push(
      found
        ? { name: p.program, ok: true, required: p.required, detail: `${found} (${p.what})` }
        : { name: p.program, ok: false, required: p.required, detail: `not found (${p.what})`, fix: p.fix },
    );
  }
  checks.push(...(await nfsChecks()));
  checks.push(
    existsSync(OVMF_CODE) && existsSync(OVMF_VARS)
      ? { name: 'OVMF', ok: true, required: false, detail: `${OVMF_CODE} (UEFI QEMU boards, optional)` }
      : {
          name: 'OVMF',
          ok: false,
          required: false,
          detail: `no ${OVMF_CODE} (UEFI QEMU boards, optional)`,
          fix: 'apt-get install ovmf',
        },
  );
  checks.push(
    existsSync('/dev/net/tun')
      ? { name: '/dev/net/tun', ok: true, required: true, detail: 'present (tap devices for QEMU boards)' }
      : {
          name: '/dev/net/tun',
          ok: false,
          required: true,
          detail: 'missing (tap devices for QEMU boards)',
          fix: 'modprobe tun',
        },
  );
  checks.push(runtimeDirsCheck());
  const caps = effectiveCapabilities();
  const netAdmin = (caps >> 12n) & 1n;
  const netRaw = (caps >> 13n) & 1n;
  const root = process.getuid?.() === 0;
  checks.push(
    netAdmin && netRaw && !needsUserNamespace({ capEff: caps })
      ? {
          name: 'privileges',
          ok: true,
          required: true,
          detail: `${root ? 'root' : 'not root'}, CAP_NET_ADMIN and CAP_NET_RAW held`,
        }
      : await userNamespaceCheck(),
  );
  return checks;
}

/** The lock and runtime directories: this user's own where they exist (core/private-dir.ts). */
function runtimeDirsCheck(): Check {
  try {
    const dirs = { locks: lockDir(), runtime: runtimeRoot() };
    if (existsSync(dirs.locks)) checkPrivateDir(dirs.locks, LOCK_DIR_ROLE);
    if (existsSync(dirs.runtime)) checkPrivateDir(dirs.runtime, RUNTIME_DIR_ROLE);
    return { name: 'runtime dirs', ok: true, required: true, detail: `${dirs.runtime}, locks in ${dirs.locks}` };
  } catch (error) {
    const [detail, fix] = (error as Error).message.split('; fix: ');
    return { name: 'runtime dirs', ok: false, required: true, detail: detail ?? '', fix };
  }
}

/** Without the capabilities, a run goes into its own user namespace (harness/run/rootless.ts): can it? */
async function userNamespaceCheck(): Promise<Check> {
  const problem = await userNamespaceProblem();
  if (problem)
    return {
      name: 'privileges',
      ok: false,
      required: true,
      detail: `not root, and running without root needs ${problem.missing}`,
      fix: problem.fix,
    };
  return {
    name: 'privileges',
    ok: true,
    required: true,
    detail: 'not root: runs go into their own user and network namespaces',
  };
}

export function formatCheck(check: Check): string {
  const mark = check.ok ? 'ok  ' : check.required ? 'FAIL' : 'warn';
  return `${mark} ${check.name.padEnd(20)} ${check.detail}${check.fix ? `\n     fix: ${check.fix}` : ''}`;
}

/** Prints the checks (and cleans up when asked); 0 when every required check passed, else 3. */
export async function doctor(options: { cleanup: boolean; write: (text: string) => void }): Promise<number> {
  const checks = await runChecks();
  for (const check of checks) options.write(`${formatCheck(check)}\n`);
  // Jobs are looked for only in directories that passed their check.
  if (!checks.find((check) => check.name === 'runtime dirs')?.ok) return 3;
  if (options.cleanup) {
    const reports = await recoverStaleJobs();
    for (const report of reports) options.write(`cleanup: ${describeRecovery(report)}\n`);
    if (reports.length === 0) options.write('cleanup: no stale jobs\n');
  } else {
    const stale = findStaleJobs();
    if (stale.length > 0)
      options.write(
        `warn stale jobs         ${stale.map((j) => `${j.jobId}${j.target ? ` (${j.target})` : ''}`).join(', ')}\n     fix: npm run hil -- doctor --cleanup\n`,
      );
  }
  return checks.every((c) => c.ok || !c.required) ? 0 : 3;
}
