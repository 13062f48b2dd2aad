/**
 * An NFS root in the run, its pure parts: the rootfs of an image file and of
 * the command line, where the 'root mounted' milestone goes, the kernel
 * arguments a job generates, what is refused before anything starts, and
 * how the NFS server's log events become step events and report lines. The
 * real parts (ganesha, QEMU, the Debian root) are in test/system/nfs-root.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withCommandLine } from '../../harness/cli/run-config.js';
import { targetSchema } from '../../harness/config/target.js';
import { MilestoneWatcher } from '../../harness/console/milestone-watcher.js';
import type { MilestoneSpec } from '../../harness/core/boot.js';
import { UsageError } from '../../harness/core/errors.js';
import type { StepEvent, StepEventBody } from '../../harness/core/events.js';
import {
  commandLineImage,
  nfsRootStyleOf,
  normalizeImage,
  withRootMountedMilestone,
} from '../../harness/images/image-file.js';
import { checkRootfs } from '../../harness/images/rootfs-copy.js';
import { renderJunit } from '../../harness/report/junit.js';
import { formatEvent } from '../../harness/report/terminal.js';
import { timelineRows } from '../../harness/report/timeline.js';
import { refuseNfsRoot } from '../../harness/run/run-job.js';
import { nfsEventReporter } from '../../harness/run/stages/nfs.js';
import { nfsRootKernelArguments } from '../../harness/run/stages/plan-boot.js';

const dir = mkdtempSync(join(tmpdir(), 'hil-nfs-root-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'out', 'root'), { recursive: true });
writeFileSync(join(dir, 'out', 'Image'), 'kernel bytes');
writeFileSync(join(dir, 'out', 'initrd.img'), 'initrd bytes');
writeFileSync(join(dir, 'out', 'root.tar.zst'), 'not really zstd');
writeFileSync(join(dir, 'out', 'root.zip'), 'PK');
const file = join(dir, 'product.ts');

const usageError = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
};

const qemuTarget = targetSchema.parse({
  name: 'qemu-x86',
  image: 'busybox',
  power: { driver: 'qemu', memoryMiB: 1024 },
  console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:01' },
});
const labTarget = (mode: 'dhcp' | 'proxy') =>
  targetSchema.parse({
    name: `lab-${mode}`,
    image: 'busybox',
    power: { driver: 'command', on: 'true', off: 'true' },
    console: { kind: 'tcp', host: '127.0.0.1', port: 7000, kernelConsole: 'ttyS0,115200' },
    network: {
      kind: 'lab',
      interface: 'eth9',
      mode,
      serverAddress: '192.168.10.250/24',
      ...(mode === 'dhcp' ? { boardAddress: '192.168.10.20' } : {}),
      mac: '3c:ec:ef:12:34:56',
    },
  });

const names = (milestones: readonly MilestoneSpec[]) => milestones.map((m) => m.name);

describe('the root file system of a run', () => {
  it('is checked before anything starts: a directory or a tarball of a known kind, one line naming it', () => {
    expect(checkRootfs('--rootfs', join(dir, 'out', 'root'))).toEqual({
      kind: 'directory',
      path: join(dir, 'out', 'root'),
    });
    expect(checkRootfs('--rootfs', join(dir, 'out', 'root.tar.zst'))).toEqual({
      kind: 'tarball',
      path: join(dir, 'out', 'root.tar.zst'),
      compression: 'zstd',
    });
    expect(usageError(() => checkRootfs('--rootfs', join(dir, 'out', 'root.zip')))).toBe(
      `--rootfs ${join(dir, 'out', 'root.zip')}: neither a directory nor a tarball (.tar, .tar.gz, .tar.xz, .tar.zst). Fix: give the root file system as one of those.`,
    );
    expect(usageError(() => checkRootfs('--rootfs', 'no/such/root'))).toBe(
      '--rootfs no/such/root: no such file or directory. Fix: give a directory or a tarball.',
    );
  });

  it("comes from an image file's artifacts.rootfs, relative to the image file, with its style", () => {
    const image = normalizeImage(
      {
        name: 'product',
        artifacts: { kernel: 'out/Image', initrd: 'out/initrd.img', rootfs: 'out/root' },
        nfsroot: { version: 3 },
      },
      file,
      'product',
    );
    expect(image.rootfs).toEqual({
      kind: 'directory',
      path: join(dir, 'out', 'root'),
      origin: `image file ${file}, field 'artifacts.rootfs':`,
    });
    expect(nfsRootStyleOf(image)).toBe('initramfs');
    expect(
      usageError(() => normalizeImage({ name: 'product', artifacts: { rootfs: 'out/none' } }, file, 'product')),
    ).toBe(
      `image file ${file}, field 'artifacts.rootfs': ${join(dir, 'out', 'none')}: no such file or directory. Fix: give a directory or a tarball.`,
    );
    expect(
      usageError(() => normalizeImage({ name: 'product', nfsroot: { style: 'dracut' } }, file, 'product')),
    ).toMatch(/field 'nfsroot\.style'/);
  });

  it('from the command line replaces the image file\'s, and puts "root mounted" after init started (initramfs)', () => {
    const image = normalizeImage(
      { name: 'product', artifacts: { kernel: 'out/Image', initrd: 'out/initrd.img', rootfs: 'out/root' } },
      file,
      'product',
    );
    const tarball = { ...checkRootfs('--rootfs', join(dir, 'out', 'root.tar.zst')), origin: '--rootfs' };
    const changed = withCommandLine(image, [], { target: 'qemu-x86', ready: 'login:' }, tarball);
    expect(changed.rootfs).toEqual(tarball);
    expect(names(changed.milestones)).toEqual([
      'DHCP lease',
      'kernel fetched',
      'initrd fetched',
      'Linux version',
      'init started',
      'root mounted',
      'ready: login:',
    ]);
    expect(changed.milestones[5]).toEqual({ name: 'root mounted', event: 'nfs-mount', timeoutS: 120 });
  });

  it('without an initrd is mounted by the kernel: "root mounted" comes before init started', () => {
    const image = commandLineImage({ withInitrd: false });
    expect(nfsRootStyleOf(image)).toBe('kernel');
    const rootfs = { ...checkRootfs('--rootfs', join(dir, 'out', 'root')), origin: '--rootfs' };
    expect(names(withCommandLine(image, [], { target: 'qemu-x86' }, rootfs).milestones)).toEqual([
      'DHCP lease',
      'kernel fetched',
      'Linux version',
      'root mounted',
      'init started',
    ]);
  });

  it("adds no milestone where the image watches for the mount itself or has no 'init started'", () => {
    const own: MilestoneSpec[] = [
      { name: 'banner', console: /Linux version/, timeoutS: 60 },
      { name: 'my root', event: 'nfs-mount', timeoutS: 60 },
    ];
    expect(withRootMountedMilestone(own, 'initramfs')).toBe(own);
    const none: MilestoneSpec[] = [{ name: 'banner', console: /Linux version/, timeoutS: 60 }];
    expect(withRootMountedMilestone(none, 'kernel')).toBe(none);
  });
});

describe('the kernel arguments of an NFS root', () => {
  const rootfs = { kind: 'directory' as const, path: '/srv/root', origin: '--rootfs' };
  it('mount it from the job network by the initramfs, the address by DHCP', () => {
    const image = { ...commandLineImage({ withInitrd: true }), rootfs };
    image.artifacts = [{ role: 'initrd', name: 'initrd', path: '/x/initrd', origin: '--initrd' }];
    expect(nfsRootKernelArguments({ target: qemuTarget, image, jobId: '0123abcd' })).toEqual([
      'boot=nfs',
      'root=/dev/nfs',
      'nfsroot=10.42.0.1:/rootfs,v3,tcp,noacl',
      'ip=dhcp',
      'net.ifnames=0',
      'rw',
    ]);
  });

  it("mount it by the kernel from a lab target's own server address, NFSv4 when the image asks", () => {
    const image = { ...commandLineImage({ withInitrd: false }), rootfs, nfsroot: { version: 4 as const } };
    expect(nfsRootKernelArguments({ target: labTarget('dhcp'), image, jobId: '0123abcd' })).toEqual([
      'root=/dev/nfs',
      'nfsroot=192.168.10.250:/rootfs,vers=4,tcp',
      'ip=dhcp',
      'rw',
    ]);
  });
});

describe('what an NFS root is refused on, before anything starts', () => {
  it('a proxyDHCP target, whose board address the job does not know', () => {
    expect(usageError(() => refuseNfsRoot(labTarget('proxy'), '--rootfs', false))).toBe(
      "--rootfs: target lab-proxy is on a proxyDHCP lab network, where the lab's DHCP server chooses the board's address, and the job's NFS server exports the root to the board's address only; use a target with mode 'dhcp' and a boardAddress",
    );
  });

  it('a run in its own user namespace', () => {
    expect(usageError(() => refuseNfsRoot(qemuTarget, '--rootfs', true))).toBe(
      "--rootfs: an NFS root needs root: the job's NFS server (nfs-ganesha) opens files by handle (open_by_handle_at needs CAP_DAC_READ_SEARCH on the host), which a run in its own user namespace does not have; run as root",
    );
  });

  it('is not refused on a QEMU target or a lab target that gives the board its address', () => {
    expect(() => refuseNfsRoot(qemuTarget, '--rootfs', false)).not.toThrow();
    expect(() => refuseNfsRoot(labTarget('dhcp'), '--rootfs', false)).not.toThrow();
  });
});

describe("the NFS server's events", () => {
  it("keep the board's mounts, drop other clients', and name only the first refusals", () => {
    const emitted: StepEventBody[] = [];
    const reporter = nfsEventReporter('10.42.0.10', (event) => emitted.push(event));
    reporter.onEvent({ kind: 'mount', version: 3, client: '10.42.0.10', path: '/rootfs' });
    reporter.onEvent({ kind: 'mount', version: 4, client: '10.42.0.77', path: '/rootfs' });
    for (const last of [51, 52, 53, 54, 55])
      reporter.onEvent({ kind: 'refused', version: 3, client: `10.42.0.${last}`, path: '/rootfs' });
    reporter.onEvent({ kind: 'unmount', version: 4, client: '10.42.0.10', path: '/rootfs' });
    expect(emitted).toEqual([
      { type: 'nfs', state: 'mount', client: '10.42.0.10', path: '/rootfs', version: 3 },
      { type: 'nfs', state: 'refused', client: '10.42.0.51', path: '/rootfs', version: 3, refused: 1 },
      { type: 'nfs', state: 'refused', client: '10.42.0.52', path: '/rootfs', version: 3, refused: 2 },
      { type: 'nfs', state: 'refused', client: '10.42.0.53', path: '/rootfs', version: 3, refused: 3 },
      { type: 'nfs', state: 'unmount', client: '10.42.0.10', path: '/rootfs', version: 4 },
    ]);
    expect(reporter.refused()).toBe(5);
  });

  it('pass the "root mounted" milestone, also when the mount comes before its turn', () => {
    const milestones: MilestoneSpec[] = [
      { name: 'init started', console: /Run \S+ as init process/, timeoutS: 10 },
      { name: 'root mounted', event: 'nfs-mount', timeoutS: 10 },
      { name: 'ready', console: /login:/, timeoutS: 10 },
    ];
    const inTurn = new MilestoneWatcher(milestones, []);
    expect(inTurn.feedConsole('Run /init as init process\n').map((r) => r.kind)).toEqual(['milestone']);
    expect(inTurn.feedNfsMount().map((r) => r.kind === 'milestone' && r.milestone.name)).toEqual(['root mounted']);
    expect(inTurn.feedConsole('hil-nfs login: ').map((r) => r.kind === 'milestone' && r.milestone.name)).toEqual([
      'ready',
    ]);
    const early = new MilestoneWatcher(milestones, []);
    expect(early.feedNfsMount()).toEqual([]);
    expect(
      early
        .feedConsole('Run /init as init process\nhil-nfs login: ')
        .map((r) => r.kind === 'milestone' && r.milestone.name),
    ).toEqual(['init started', 'root mounted', 'ready']);
    expect(early.done).toBe(true);
  });

  it('read as lines in the terminal and rows in the timeline', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const events: StepEvent[] = [
      { type: 'nfs', state: 'up', client: '10.42.0.10', path: '/rootfs', durationMs: 412, t: 3000, at },
      { type: 'nfs', state: 'mount', client: '10.42.0.10', path: '/rootfs', version: 3, t: 14_000, at },
      { type: 'nfs', state: 'refused', client: '10.42.0.51', path: '/rootfs', version: 3, refused: 3, t: 15_000, at },
      { type: 'nfs', state: 'down', refused: 7, durationMs: 2100, t: 60_000, at },
      {
        type: 'rootfs',
        state: 'pinned',
        path: '/c/jobs/x/rootfs/root',
        method: 'unpack',
        durationMs: 4120,
        t: 2000,
        at,
      },
      { type: 'rootfs', state: 'kept', path: '/r/run/rootfs', t: 61_000, at },
    ];
    expect(events.map(formatEvent)).toEqual([
      '[   3.000] nfs       up: /rootfs for 10.42.0.10 only (412 ms)',
      '[  14.000] nfs       10.42.0.10 mounted /rootfs (NFSv3)',
      '[  15.000] nfs       refused 10.42.0.51 for /rootfs (NFSv3); further refusals are only counted',
      '[  60.000] nfs       down (7 refused)',
      "[   2.000] rootfs    the job's copy (unpack) in /c/jobs/x/rootfs/root (4.12 s)",
      "[  61.000] rootfs    kept the job's copy in /r/run/rootfs",
    ]);
    expect(timelineRows(events)).toEqual([
      { label: 'NFS server up', start: 2588, end: 3000, kind: 'nfs', note: '/rootfs' },
      { label: 'NFS mount /rootfs', start: 14_000, end: 14_000, kind: 'nfs', note: 'NFSv3' },
      { label: 'NFS refused 10.42.0.51', start: 15_000, end: 15_000, kind: 'failure', note: 'NFSv3' },
    ]);
  });
});

describe("the root file system's provenance in JUnit", () => {
  it("names a directory's listing digest and its entries, a tarball's SHA-256", () => {
    const junit = renderJunit({
      target: 'qemu-x86',
      image: 'custom',
      runId: 'run-1',
      startedAt: new Date('2026-01-01T00:00:00Z'),
      durationMs: 1000,
      milestones: [],
      artifacts: {},
      provenance: [
        {
          role: 'rootfs',
          name: '/rootfs',
          source: '/ws/root',
          bytes: 1234,
          sha256: 'ef'.repeat(32),
          digest: 'listing',
          entries: 42,
        },
      ],
    });
    const properties = [...junit.matchAll(/<property name="(artifact\.[^"]+)" value="([^"]*)"\/>/g)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(properties).toEqual([
      ['artifact.rootfs.sha256', 'ef'.repeat(32)],
      ['artifact.rootfs.bytes', '1234'],
      ['artifact.rootfs.source', '/ws/root'],
      ['artifact.rootfs.digest', 'listing'],
      ['artifact.rootfs.entries', '42'],
    ]);
  });
});
