/**
 * The QEMU dry run end to end, through the command line, with the real parts:
 * network namespaces, dnsmasq, the TFTP/HTTP file server, QEMU and its iPXE
 * ROM, pxelinux, Debian kernels. Each run must leave nothing behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeRoot } from '../../harness/core/paths.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { events, hil, junitProblems, readResult, startHil } from '../support/hil.js';
import { checkEachRun, PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const BOOT_TIMEOUT = 300_000;
const files = suiteScope();
let results: string;
const { dir: runDir } = checkEachRun((dir) =>
  expect(junitProblems(join(dir, 'junit.xml')), 'junit.xml against the JUnit schema').toBe(''),
);

beforeAll(async () => {
  results = files.results();
  await prepareImages();
}, PREPARE_TIMEOUT);

const testcases = (junit: string) => [...junit.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]);

describe('QEMU dry run', () => {
  it(
    'boots the small image over iPXE and HTTP to its shell prompt',
    async () => {
      const run = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = runDir(run.stdout);
      const junit = readResult(dir, 'junit.xml');
      expect(testcases(junit)).toEqual([
        '01 DHCP lease',
        '02 kernel fetched',
        '03 initrd fetched',
        '04 Linux version',
        '05 init started',
        '06 shell prompt',
      ]);
      expect(junit).toContain('failures="0" errors="0" skipped="0"');
      const served = events(dir).filter((e) => e.type === 'file-served');
      expect(served.map((e) => [e.protocol, e.path])).toEqual([
        ['http', '/boot.ipxe'],
        ['http', '/vmlinuz'],
        ['http', '/initrd.cpio.gz'],
      ]);
      expect(readResult(dir, 'console.log')).toMatch(/Run \/init as init process/);
      expect(readResult(dir, 'console.log')).toMatch(/iPXE/);
      // iPXE's 2 s wait for Ctrl-B was answered once, before the lease, and the boot went on (not into its shell).
      const kinds = events(dir).map((e) => e.type);
      expect(kinds.filter((kind) => kind === 'firmware-prompt')).toHaveLength(1);
      expect(kinds.indexOf('firmware-prompt')).toBeLessThan(kinds.indexOf('lease'));
      // The image's own lease is taken before its shell starts: a lease taken while the shell was starting
      // left it without a prompt now and then. The shell's banner comes after the address, every boot.
      const consoleLog = readResult(dir, 'console.log');
      expect(consoleLog.indexOf('pxe-hil small image: eth0 has address')).toBeGreaterThan(-1);
      expect(consoleLog.indexOf('pxe-hil small image: eth0 has address')).toBeLessThan(consoleLog.indexOf('BusyBox v'));
      expect(consoleLog).toContain('pxe-hil small image: shell ready on the console');
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots a plain PXE client through pxelinux with every file over TFTP',
    async () => {
      const run = await hil(['--target', 'qemu-x86-pxelinux', '--results', results]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = runDir(run.stdout);
      const served = events(dir).filter((e) => e.type === 'file-served');
      expect(served.every((e) => e.protocol === 'tftp')).toBe(true);
      expect(served.map((e) => e.path)).toEqual(
        expect.arrayContaining([
          'pxelinux.0',
          'ldlinux.c32',
          'pxelinux.cfg/01-52-54-00-a1-00-02',
          'vmlinuz',
          'initrd.cpio.gz',
        ]),
      );
      const leases = events(dir).filter((e) => e.type === 'lease');
      expect(leases[0]).toMatchObject({ mac: '52:54:00:a1:00:02', ip: '10.42.0.10' });
    },
    BOOT_TIMEOUT,
  );

  it(
    'fails with exit 1 and names the kernel panic when the image cannot boot',
    async () => {
      const run = await hil(['--target', 'qemu-x86', '--image', 'busybox-no-initrd', '--results', results]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(1);
      expect(run.stdout).toMatch(/FAILED\s+kernel panic: Kernel panic - not syncing: VFS: Unable to mount root fs/);
      const junit = readResult(runDir(run.stdout), 'junit.xml');
      expect(junit).toMatch(
        /<testcase [^>]*name="04 init started"[^>]*>\s*<failure message="kernel panic: Kernel panic - not syncing[^"]*" type="kernel panic">/,
      );
      expect(junit).toContain('failures="1"');
      expect(junit).toMatch(/Last console lines:[\s\S]*VFS: Cannot open root device/);
    },
    BOOT_TIMEOUT,
  );

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(
      `tears everything down on ${signal} mid-boot and keeps the console log`,
      async () => {
        let sent = false;
        const child = startHil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results], {
          onLine: (line, proc) => {
            // Mid-boot: the kernel is on the wire, QEMU, dnsmasq and the file server all running.
            if (!sent && /milestone\s+kernel fetched/.test(line)) {
              sent = true;
              proc.kill(signal);
            }
          },
        });
        const run = await child;
        expect(sent).toBe(true);
        expect(run.exitCode, String(run.all)).toBe(signal === 'SIGINT' ? 130 : 143);
        const dir = runDir(String(run.stdout));
        expect(String(run.stdout)).toMatch(/power\s+off via qemu/);
        expect(String(run.stdout)).toMatch(
          new RegExp(`INTERRUPTED \\(exit ${run.exitCode}\\): interrupted by ${signal}`),
        );
        expect(readResult(dir, 'console.log')).toMatch(/iPXE/);
        expect(readResult(dir, 'junit.xml')).toMatch(/<error message="interrupted by SIG/);
        expect(existsSync(`${dir}/console.raw`)).toBe(true);
      },
      BOOT_TIMEOUT,
    );
  }

  it(
    'calls a board that dies mid-boot a lab fault (exit 3), naming why',
    async () => {
      let killed: number | undefined;
      let currentJob: string | undefined;
      const child = startHil(['--target', 'qemu-x86', '--image', 'busybox', '--results', results], {
        onLine: (line) => {
          const jobId = /run\s+\S+-([0-9a-f]{8}): target qemu-x86/.exec(line)?.[1];
          if (jobId) currentJob = jobId;
          // The board's QEMU (its pid file in the job's directory) dies right after the lease.
          if (killed === undefined && currentJob && /milestone\s+DHCP lease/.test(line)) {
            const pid = Number(readFileSync(join(runtimeRoot(), currentJob, 'qemu.pid'), 'utf8').trim());
            process.kill(pid, 'SIGKILL');
            killed = pid;
          }
        },
      });
      const run = await child;
      expect(killed).toBeDefined();
      expect(run.exitCode, String(run.all)).toBe(3);
      expect(String(run.stdout)).toMatch(
        /LAB-FAULT \(exit 3\): the board was lost: QEMU exited on its own \(SIGKILL\)/,
      );
      const dir = runDir(String(run.stdout));
      expect(readResult(dir, 'junit.xml')).toMatch(
        /<error message="the board was lost: QEMU exited on its own \(SIGKILL\)/,
      );
    },
    BOOT_TIMEOUT,
  );

  it(
    'netboots the Debian installer to its first screen',
    async () => {
      const run = await hil(['--target', 'qemu-x86', '--results', results]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/milestone installer: Select a language/);
      const dir = runDir(run.stdout);
      expect(testcases(readResult(dir, 'junit.xml'))).toContain('06 installer: Select a language');
      const served = events(dir)
        .filter((e) => e.type === 'file-served')
        .map((e) => [e.path, e.bytes]);
      expect(served).toContainEqual(['/initrd.gz', expect.any(Number)]);
    },
    BOOT_TIMEOUT,
  );
});
