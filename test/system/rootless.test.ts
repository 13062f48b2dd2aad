/**
 * A QEMU dry run as an ordinary user: the command line re-executes itself in
 * its own user, network and mount namespaces and boots the small image to
 * its shell, with the real parts (unshare, ip netns, dnsmasq, the file
 * server, QEMU on a tap). When the host does not let the user do that, the
 * run stops at once with exit 3 and one line naming what is missing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, hil, jobIdOf, NO_RESIDUE, readResult, residueOf } from '../support/hil.js';
import {
  makeUserHome,
  removeUserHome,
  startHilAsUser,
  USER_UID,
  userProcesses,
  type UserHome,
} from '../support/unprivileged.js';

const BOOT_TIMEOUT = 300_000;
const MILESTONES = [
  '01 DHCP lease',
  '02 kernel fetched',
  '03 initrd fetched',
  '04 Linux version',
  '05 init started',
  '06 shell prompt',
];
let home: UserHome;

beforeAll(async () => {
  // The images are prepared as root (apt-get download), then copied into the user's own cache.
  const prepared = await hil(['images', '--image', 'busybox']);
  expect(prepared.exitCode, prepared.stderr).toBe(0);
  expect(userProcesses(), `uid ${USER_UID} must be unused`).toEqual([]);
  home = makeUserHome(process.env.PXE_HIL_CACHE ?? join(homedir(), '.cache/pxe-hil'));
}, 600_000);

afterAll(() => {
  if (home) removeUserHome(home);
});

const testcases = (junit: string) => [...junit.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]);

/** Network namespaces (lsns) whose processes are the user's. */
function userNetNamespaces(): string[] {
  return execaSync('lsns', ['--type', 'net', '--noheadings', '--raw', '--output', 'NS,PID,UID'], { reject: false })
    .stdout.split('\n')
    .filter((line) => line.split(' ')[2] === String(USER_UID));
}

/** The results directory of a run as the user (its "results:" line names it). */
function runDirOf(stdout: string): string {
  const match = /^results: (.+)$/m.exec(stdout);
  if (!match) throw new Error(`no results line in output:\n${stdout}`);
  return match[1]!;
}

describe('QEMU dry run as an ordinary user', () => {
  it(
    'boots the small image to its shell in its own namespaces, and leaves nothing behind',
    async () => {
      const run = await startHilAsUser(home, ['--target', 'qemu-x86', '--image', 'busybox', '--results', home.results]);
      expect(run.exitCode, String(run.all)).toBe(0);
      const dir = runDirOf(String(run.stdout));
      expect(dir.startsWith(home.results)).toBe(true);
      const junit = readResult(dir, 'junit.xml');
      expect(testcases(junit)).toEqual(MILESTONES);
      expect(junit).toContain('failures="0" errors="0" skipped="0"');
      const logged = events(dir);
      expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toEqual(
        MILESTONES.map((m) => m.slice(3)),
      );
      expect(logged.find((e) => e.type === 'lease')).toMatchObject({ mac: '52:54:00:a1:00:01', ip: '10.42.0.10' });
      expect(logged.filter((e) => e.type === 'power').map((e) => [e.action, e.ok])).toEqual([
        ['cycle', true],
        ['off', true],
      ]);
      // The results belong to the user, not to root.
      for (const file of ['junit.xml', 'events.jsonl', 'console.log', 'pxe.log'])
        expect(statSync(join(dir, file)).uid, file).toBe(USER_UID);
      // Nothing left: no process of the user, no namespace on the host, no job directory; the lock files stay.
      const jobId = jobIdOf(dir);
      expect(userProcesses()).toEqual([]);
      expect(residueOf(jobId)).toEqual(NO_RESIDUE);
      expect(readdirSync(join(home.runtime, 'pxe-hil'))).toEqual(['locks']);
      expect(readdirSync(join(home.runtime, 'pxe-hil/locks')).sort()).toEqual(['qemu-x86.lock', 'qemu-x86.owner']);
      // The user's runtime and lock directories are the user's alone.
      for (const sub of ['pxe-hil', 'pxe-hil/locks'])
        expect(statSync(join(home.runtime, sub)).mode & 0o7777, sub).toBe(0o700);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots also where the host never had /run/netns (a tmpfs on /run, the runtime directory bound back)',
    async () => {
      const run = await startHilAsUser(
        home,
        ['--target', 'qemu-x86', '--image', 'busybox', '--results', home.results],
        { freshRun: true },
      );
      expect(run.exitCode, String(run.all)).toBe(0);
      const dir = runDirOf(String(run.stdout));
      expect(testcases(readResult(dir, 'junit.xml'))).toEqual(MILESTONES);
      // The job's directory was under /run/user/<uid>/pxe-hil, the user's runtime directory.
      expect(String(run.stdout)).toMatch(
        new RegExp(`console\\s+opening console unix:/run/user/${USER_UID}/pxe-hil/[0-9a-f]{8}/console\\.sock`),
      );
      expect(userProcesses()).toEqual([]);
      expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
    },
    BOOT_TIMEOUT,
  );

  it(
    'passes SIGTERM on to the run, which tears down as a root run does (exit 143)',
    async () => {
      let sent = false;
      let midBoot: { hostNamespaces: string[]; userNetNamespaces: number } | undefined;
      const child = startHilAsUser(home, ['--target', 'qemu-x86', '--image', 'busybox', '--results', home.results]);
      let buffer = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        if (!sent && /milestone\s+kernel fetched/.test(buffer)) {
          // Mid-boot the job's network namespace exists, but only in its own mount namespace: not in the host's list.
          const jobId = /run\s+\S+-([0-9a-f]{8}): target qemu-x86/.exec(buffer)?.[1];
          midBoot = {
            hostNamespaces: residueOf(jobId ?? 'none').namespaces,
            userNetNamespaces: userNetNamespaces().length,
          };
          sent = true;
          child.kill('SIGTERM');
        }
      });
      const run = await child;
      expect(sent).toBe(true);
      expect(run.exitCode, String(run.all)).toBe(143);
      expect(String(run.stdout)).toMatch(/power\s+off via qemu/);
      expect(String(run.stdout)).toMatch(/INTERRUPTED \(exit 143\): interrupted by SIGTERM/);
      const dir = runDirOf(String(run.stdout));
      expect(readResult(dir, 'junit.xml')).toMatch(/<error message="interrupted by SIGTERM/);
      expect(midBoot?.hostNamespaces).toEqual([]);
      expect(midBoot?.userNetNamespaces).toBeGreaterThan(0);
      expect(userNetNamespaces()).toEqual([]);
      expect(userProcesses()).toEqual([]);
      expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
    },
    BOOT_TIMEOUT,
  );

  it(
    'a run killed outright leaves its board and dnsmasq, which hil doctor --cleanup as the user removes',
    async () => {
      let killed: number | undefined;
      let jobId: string | undefined;
      const child = startHilAsUser(home, ['--target', 'qemu-x86', '--image', 'busybox', '--results', home.results]);
      let buffer = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        jobId ??= /run\s+\S+-([0-9a-f]{8}): target qemu-x86/.exec(buffer)?.[1];
        // The harness inside the namespaces (its pid in job.json) dies after the lease, with no teardown.
        if (killed === undefined && jobId && /milestone\s+DHCP lease/.test(buffer)) {
          const state = JSON.parse(readFileSync(join(home.runtime, 'pxe-hil', jobId, 'job.json'), 'utf8')) as {
            pid: number;
          };
          process.kill(state.pid, 'SIGKILL');
          killed = state.pid;
        }
      });
      const run = await child;
      expect(killed).toBeDefined();
      expect(run.exitCode, String(run.all)).toBe(137);
      const left = userProcesses();
      expect(left.map((line) => line.split(/\s+/)[2])).toEqual(
        expect.arrayContaining(['dnsmasq', 'qemu-system-x86_64']),
      );
      const cleanup = await startHilAsUser(home, ['doctor', '--cleanup']);
      expect(String(cleanup.stdout)).toMatch(
        new RegExp(`cleanup: removed stale job ${jobId} of qemu-x86: stopped pids \\d+, \\d+, removed its directory`),
      );
      expect(userProcesses()).toEqual([]);
      expect(readdirSync(join(home.runtime, 'pxe-hil'))).toEqual(['locks']);
    },
    BOOT_TIMEOUT,
  );
});

describe('a host that does not let an ordinary user run jobs', () => {
  it('stops before anything starts, with exit 3 and one line naming what is missing and the fix', async () => {
    const before = readdirSync(home.results);
    const run = await startHilAsUser(home, ['--target', 'qemu-x86', '--image', 'busybox', '--results', home.results], {
      tunMode: '0600',
    });
    expect(run.exitCode, String(run.all)).toBe(3);
    expect(String(run.stderr)).toBe(
      'pxe-hil: running without root needs read-write access to /dev/net/tun (tap devices for QEMU boards, mode 0600); fix: sudo chmod 0666 /dev/net/tun (or run as root)',
    );
    expect(String(run.stdout)).toBe('');
    expect(readdirSync(home.results)).toEqual(before);
    expect(userProcesses()).toEqual([]);
  });

  it('hil doctor reports the same check, and passes it where the user may', async () => {
    const refused = await startHilAsUser(home, ['doctor'], { tunMode: '0600' });
    expect(refused.exitCode, String(refused.all)).toBe(3);
    expect(String(refused.stdout)).toContain(
      'FAIL privileges           not root, and running without root needs read-write access to /dev/net/tun (tap devices for QEMU boards, mode 0600)\n     fix: sudo chmod 0666 /dev/net/tun',
    );
    const allowed = await startHilAsUser(home, ['doctor']);
    expect(String(allowed.stdout)).toContain(
      'ok   privileges           not root: runs go into their own user and network namespaces',
    );
    expect(existsSync(join(home.runtime, 'pxe-hil'))).toBe(true);
  });
});
