/**
 * Boards with their root file systems on their jobs' NFS exports, through
 * `hil` itself, with the real parts: the Debian 12 root of
 * test/support/nfs-rootfs.ts (the cloud kernel, its BOOT=nfs initramfs,
 * systemd, dropbear), the job's ganesha and rpcbind, dnsmasq, the file
 * server and QEMU (TCG). Two jobs at once, one given the root as a
 * directory and one as a tarball, each see and write their own copy only;
 * another client is refused; the roots given stay byte for byte as they
 * were; nothing is left after a pass, a failure, SIGTERM, or SIGKILL and
 * `hil doctor --cleanup`. The checks made before anything starts, too.
 */
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFilesDir } from '../../harness/core/paths.js';
import { directoryDigest, type ListingDigest, type Digest, tarballDigest } from '../../harness/images/rootfs-copy.js';
import {
  events,
  hil,
  jobIdOf,
  junitProblems,
  type LoggedEvent,
  NO_RESIDUE,
  REPO,
  readResult,
  residueOf,
  resultsDirOf,
  resultsRoot,
  startHil,
  writeTargetFile,
} from '../support/hil.js';
import { addNfsClient, hostMountsNaming, nfsTool, removeNfsClient } from '../support/nfs-peers.js';
import { buildTestRootfs, ROOTFS_READY_LINE, type TestRootfs } from '../support/nfs-rootfs.js';
import { startHilAsUser, USER_UID, type UserHome } from '../support/unprivileged.js';

const BOOT_TIMEOUT = 600_000;
const BOARD_IP = '10.42.0.10';
const MILESTONES = [
  'DHCP lease',
  'kernel fetched',
  'initrd fetched',
  'Linux version',
  'init started',
  'root mounted',
  `ready: ${ROOTFS_READY_LINE}`,
];

let rootfs: TestRootfs;
/** Everything of this file's own: the roots given, image files, suites, targets, runtime and lock directories. */
let work: string;
let results: string;
let env: Record<string, string>;
let targetsDir: string;
let givenDir: string;
let givenTar: string;
let imageFile: string;
let noInitImage: string;
let suite: string;
let before: { dir: ListingDigest; tar: Digest };

/** Whether any process still has its working directory in the job's state (rpcbind's, ganesha's). */
function processesInJobDirs(jobId: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).includes(jobId)) found.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Everything a job of an NFS root could leave: namespace, processes, the copy, mounts. */
async function expectNothingLeft(jobId: string): Promise<void> {
  expect(residueOf(jobId), 'namespace or processes left behind').toEqual(NO_RESIDUE);
  expect(processesInJobDirs(jobId), "processes (rpcbind) still in the job's directories").toEqual([]);
  expect(existsSync(jobFilesDir(jobId)), "the job's copy of the root file system is removed").toBe(false);
  expect(await hostMountsNaming(jobId)).toEqual([]);
  expect(await hostMountsNaming('pxe-hil-')).toEqual([]);
}

const jobIdOfLine = (line: string) => /run\s+\S+-([0-9a-f]{8}): target/.exec(line)?.[1];
const milestonesOf = (logged: LoggedEvent[]) => logged.filter((e) => e.type === 'milestone').map((e) => e.name);
const nfsOf = (logged: LoggedEvent[]) =>
  logged.filter((e) => e.type === 'nfs').map(({ t: _t, at: _at, durationMs: _d, ...rest }) => rest);
const property = (junit: string, name: string) =>
  new RegExp(`<property name="${name.replace(/\./g, '\\.')}" value="([^"]*)"/>`).exec(junit)?.[1];

/** The given root, with a marker file saying which one it is. */
async function makeGivenRoots(): Promise<void> {
  givenDir = join(work, 'given-root');
  mkdirSync(givenDir);
  await execa('tar', [
    '--extract',
    `--file=${rootfs.tarball}`,
    `--directory=${givenDir}`,
    '--numeric-owner',
    '--xattrs',
    '--xattrs-include=*',
    '-p',
  ]);
  writeFileSync(join(givenDir, 'etc', 'pxe-hil-marker'), 'the directory given\n');
  // The tarball: the test root's own, with its marker appended as one more member.
  givenTar = join(work, 'given-root.tar');
  const extra = join(work, 'marker');
  mkdirSync(join(extra, 'etc'), { recursive: true });
  writeFileSync(join(extra, 'etc', 'pxe-hil-marker'), 'the tarball given\n');
  await execa('cp', [rootfs.tarball, givenTar]);
  await execa('tar', ['--append', `--file=${givenTar}`, '-C', extra, '--owner=0', '--group=0', './etc/pxe-hil-marker']);
}

/** Image files kept outside pxe-hil: the Debian root with its SSH login, and one whose root has no init. */
function makeImageFiles(): void {
  const images = join(work, 'images');
  mkdirSync(images);
  const rel = (path: string) => relative(images, path);
  imageFile = join(images, 'nfs-debian.mjs');
  writeFileSync(
    imageFile,
    `export default ${JSON.stringify(
      {
        name: 'nfs-debian',
        description: 'Debian 12 with its root on the job NFS export',
        artifacts: { kernel: rel(rootfs.kernel), initrd: rel(rootfs.initrd), rootfs: rel(givenDir) },
        ready: { console: ROOTFS_READY_LINE, timeoutS: 400 },
        ssh: { user: rootfs.ssh.user, privateKey: rel(rootfs.ssh.clientKeyPath), hostKey: rootfs.ssh.hostKey },
      },
      null,
      2,
    )};\n`,
  );
  const emptyRoot = join(work, 'root-without-init');
  for (const sub of ['etc', 'dev', 'run', 'proc', 'sys']) mkdirSync(join(emptyRoot, sub), { recursive: true });
  writeFileSync(join(emptyRoot, 'etc', 'hostname'), 'nobody\n');
  noInitImage = join(images, 'nfs-no-init.mjs');
  writeFileSync(
    noInitImage,
    `export default ${JSON.stringify({
      name: 'nfs-no-init',
      artifacts: { kernel: rel(rootfs.kernel), initrd: rel(rootfs.initrd), rootfs: rel(emptyRoot) },
      ready: ROOTFS_READY_LINE,
      // Debian's initramfs says so when the root it mounted has no init.
      failurePatterns: [{ name: 'no init on the root', console: 'No init found' }],
    })};\n`,
  );
}

/** A suite that reads the board's marker and root mount, and writes what it saw into the board's root. */
function makeSuite(): void {
  const suites = join(work, 'suites');
  mkdirSync(suites);
  suite = join(suites, 'nfs-root.test.ts');
  writeFileSync(
    suite,
    `import { expect, test } from '${join(REPO, 'fixtures/target.ts')}';
test('the root is the job NFS export, and takes a file', async ({ target }) => {
  const mount = await target.ssh.exec("grep ' / ' /proc/mounts");
  expect(mount.stdout.split(' ').slice(0, 3)).toEqual([target.serverIp + ':/rootfs', '/', 'nfs']);
  const written = await target.ssh.exec('cat /etc/pxe-hil-marker > /root/suite-saw && sync && cat /root/suite-saw');
  expect(written.code).toBe(0);
  expect(written.stdout).toMatch(/^the (directory|tarball) given$/);
});
`,
  );
}

beforeAll(async () => {
  rootfs = await buildTestRootfs();
  work = mkdtempSync(join('/var/tmp', 'hil-nfs-root-'));
  results = resultsRoot();
  env = { PXE_HIL_RUNTIME_DIR: join(work, 'run'), PXE_HIL_LOCK_DIR: join(work, 'lock') };
  targetsDir = join(work, 'targets');
  mkdirSync(targetsDir);
  for (const [name, mac] of [
    ['nfs-root-a', '52:54:00:4e:46:0a'],
    ['nfs-root-b', '52:54:00:4e:46:0b'],
  ] as const)
    writeTargetFile(targetsDir, {
      name,
      description: 'QEMU board with its root on NFS',
      image: 'busybox',
      power: { driver: 'qemu', memoryMiB: 1024, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg' },
      console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
      network: { kind: 'qemu-tap', mac },
      boot: { loader: 'auto' },
      powerOffAtEnd: true,
    });
  await makeGivenRoots();
  makeImageFiles();
  makeSuite();
  before = { dir: await directoryDigest(givenDir), tar: await tarballDigest(givenTar) };
}, 900_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  if (results) rmSync(results, { recursive: true, force: true });
});

const run = (target: string, args: string[]) => [
  '--target',
  target,
  '--targets-dir',
  targetsDir,
  '--results',
  results,
  ...args,
];
const hilEnv = () => env;

describe('NFS roots, checked before anything starts', () => {
  it('refuses a root that is missing or not a root file system, in one line, exit 2', async () => {
    const missing = await hil(run('nfs-root-a', ['--kernel', rootfs.kernel, '--rootfs', join(work, 'none')]), {
      env: hilEnv(),
    });
    expect([missing.exitCode, missing.stderr]).toEqual([
      2,
      `pxe-hil: --rootfs ${join(work, 'none')}: no such file or directory. Fix: give a directory or a tarball.`,
    ]);
    const zip = join(work, 'root.zip');
    writeFileSync(zip, 'PK');
    const notRoot = await hil(run('nfs-root-a', ['--kernel', rootfs.kernel, '--rootfs', zip]), { env: hilEnv() });
    expect([notRoot.exitCode, notRoot.stderr]).toEqual([
      2,
      `pxe-hil: --rootfs ${zip}: neither a directory nor a tarball (.tar, .tar.gz, .tar.xz, .tar.zst). Fix: give the root file system as one of those.`,
    ]);
  });

  it('refuses it for a proxyDHCP target, --keep-rootfs without one, and a run as an ordinary user', async () => {
    const proxy = await hil(['--target', 'board1', '--kernel', rootfs.kernel, '--rootfs', givenDir], { env: hilEnv() });
    expect(proxy.exitCode).toBe(2);
    expect(proxy.stderr).toMatch(/^pxe-hil: --rootfs: target board1 is on a proxyDHCP lab network, [^\n]*$/);
    const keep = await hil(run('nfs-root-a', ['--kernel', rootfs.kernel, '--keep-rootfs']), { env: hilEnv() });
    expect([keep.exitCode, keep.stderr]).toEqual([
      2,
      "pxe-hil: --keep-rootfs: image 'custom' has no root file system to keep; give --rootfs DIR|TARBALL",
    ]);
    const home = userHome();
    try {
      const rootless = await startHilAsUser(home, ['--target', 'qemu-x86', '--kernel', '/dev/null', '--rootfs', '/']);
      expect([rootless.exitCode, String(rootless.stderr)]).toEqual([
        2,
        "pxe-hil: --rootfs: an NFS root needs root: the job's NFS server (nfs-ganesha) opens files by handle (open_by_handle_at needs CAP_DAC_READ_SEARCH on the host), which a run in its own user namespace does not have; run as root",
      ]);
    } finally {
      rmSync(home.dir, { recursive: true, force: true });
    }
  });
});

/** A home of the test's ordinary user with nothing in it (the run is refused before it reads any image). */
function userHome(): UserHome {
  const dir = mkdtempSync(join(tmpdir(), 'hil-nfs-rootless-'));
  for (const sub of ['home', 'tmp', 'results', 'run', 'dev', 'cache']) mkdirSync(join(dir, sub));
  for (const path of [dir, ...['home', 'tmp', 'results', 'run', 'dev', 'cache'].map((s) => join(dir, s))])
    chownSync(path, USER_UID, USER_UID);
  return {
    dir,
    cache: join(dir, 'cache'),
    results: join(dir, 'results'),
    runtime: join(dir, 'run'),
    env: {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: join(dir, 'home'),
      TMPDIR: join(dir, 'tmp'),
      XDG_RUNTIME_DIR: join(dir, 'run'),
      PXE_HIL_CACHE: join(dir, 'cache'),
    },
  };
}

describe('boards with their roots on their jobs NFS exports', () => {
  it(
    'boot at once, one from a directory and one from a tarball, each seeing and writing its own copy only',
    async () => {
      let foreign: Promise<{ exitCode: number; stderr: string }> | undefined;
      let jobA: string | undefined;
      const a = startHil(run('nfs-root-a', ['--image', imageFile, '--suite', suite, '--keep-rootfs']), {
        env: hilEnv(),
        onLine: (line) => {
          jobA ??= jobIdOfLine(line);
          // Once the board has its root, another client on the job's network asks for the export.
          if (!foreign && jobA && /nfs\s+10\.42\.0\.10 mounted \/rootfs/.test(line)) foreign = foreignClient(jobA);
        },
      });
      const b = startHil(
        run('nfs-root-b', ['--image', imageFile, '--rootfs', givenTar, '--suite', suite, '--keep-rootfs']),
        { env: hilEnv() },
      );
      const [ranA, ranB] = await Promise.all([a, b]);
      expect(ranA.exitCode, String(ranA.all)).toBe(0);
      expect(ranB.exitCode, String(ranB.all)).toBe(0);
      expect(foreign).toBeDefined();
      const refused = await foreign!;
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toContain('MNT3ERR_ACCES');

      const dirA = resultsDirOf(String(ranA.stdout));
      const dirB = resultsDirOf(String(ranB.stdout));
      for (const dir of [dirA, dirB]) {
        expect(milestonesOf(events(dir))).toEqual(MILESTONES);
        expect(junitProblems(join(dir, 'junit.xml'))).toBe('');
        await expectNothingLeft(jobIdOf(dir));
      }
      const loggedA = events(dirA);
      expect(nfsOf(loggedA)).toEqual([
        { type: 'nfs', state: 'up', client: BOARD_IP, path: '/rootfs' },
        { type: 'nfs', state: 'mount', client: BOARD_IP, path: '/rootfs', version: 3 },
        { type: 'nfs', state: 'refused', client: '10.42.0.51', path: '/rootfs', version: 3, refused: 1 },
        { type: 'nfs', state: 'down', refused: 1 },
      ]);
      expect(nfsOf(events(dirB))).toEqual([
        { type: 'nfs', state: 'up', client: BOARD_IP, path: '/rootfs' },
        { type: 'nfs', state: 'mount', client: BOARD_IP, path: '/rootfs', version: 3 },
        { type: 'nfs', state: 'down', refused: 0 },
      ]);
      // Provenance: the directory's listing digest, the tarball's SHA-256.
      expect(loggedA.find((e) => e.type === 'artifact' && e.role === 'rootfs')).toMatchObject({
        source: givenDir,
        sha256: before.dir.sha256,
        bytes: before.dir.bytes,
        digest: 'listing',
        entries: before.dir.entries,
      });
      const junitB = readResult(dirB, 'junit.xml');
      expect([property(junitB, 'artifact.rootfs.sha256'), property(junitB, 'artifact.rootfs.bytes')]).toEqual([
        before.tar.sha256,
        String(before.tar.bytes),
      ]);
      expect(property(junitB, 'artifact.rootfs.source')).toBe(givenTar);
      // Each board wrote into its own job's copy, kept in its results.
      expect(readFileSync(join(dirA, 'rootfs', 'root', 'suite-saw'), 'utf8')).toBe('the directory given\n');
      expect(readFileSync(join(dirB, 'rootfs', 'root', 'suite-saw'), 'utf8')).toBe('the tarball given\n');
      expect(String(ranA.stdout)).toMatch(/rootfs\s+kept the job's copy in .*\/rootfs\n/);
      // The roots given are as they were, byte for byte.
      expect(existsSync(join(givenDir, 'root', 'suite-saw'))).toBe(false);
      expect(await directoryDigest(givenDir)).toEqual(before.dir);
      expect(await tarballDigest(givenTar)).toEqual(before.tar);
    },
    BOOT_TIMEOUT,
  );

  it(
    'fails where the root has no init, after "root mounted", and leaves nothing',
    async () => {
      const ran = await hil(run('nfs-root-a', ['--image', noInitImage]), { env: hilEnv() });
      expect(ran.exitCode, ran.stdout + ran.stderr).toBe(1);
      expect(ran.stdout).toMatch(/FAILED \(exit 1\): no init on the root: /);
      const dir = resultsDirOf(ran.stdout);
      expect(milestonesOf(events(dir))).toEqual(MILESTONES.slice(0, 6));
      expect(readResult(dir, 'junit.xml')).toMatch(
        /name="07 ready: [^"]*"[^>]*>\s*<failure message="no init on the root/,
      );
      await expectNothingLeft(jobIdOf(dir));
    },
    BOOT_TIMEOUT,
  );

  it(
    'tears the NFS server and the copy down on SIGTERM once the root is mounted',
    async () => {
      let sent = false;
      const child = startHil(run('nfs-root-b', ['--image', imageFile, '--rootfs', givenTar]), {
        env: hilEnv(),
        onLine: (line, proc) => {
          if (!sent && /milestone\s+root mounted/.test(line)) {
            sent = true;
            proc.kill('SIGTERM');
          }
        },
      });
      const ran = await child;
      expect(sent).toBe(true);
      expect(ran.exitCode, String(ran.all)).toBe(143);
      expect(String(ran.stdout)).toMatch(/nfs\s+down \(0 refused\)/);
      await expectNothingLeft(jobIdOf(resultsDirOf(String(ran.stdout))));
      expect(await tarballDigest(givenTar)).toEqual(before.tar);
    },
    BOOT_TIMEOUT,
  );

  it(
    'after SIGKILL leaves its NFS server and copy until hil doctor --cleanup removes them',
    async () => {
      let jobId: string | undefined;
      let killed = false;
      const child = startHil(run('nfs-root-a', ['--image', imageFile]), {
        env: hilEnv(),
        onLine: (line, proc) => {
          jobId ??= jobIdOfLine(line);
          if (!killed && /milestone\s+root mounted/.test(line)) {
            killed = true;
            proc.kill('SIGKILL');
          }
        },
      });
      const crashed = await child;
      expect([killed, crashed.signal]).toEqual([true, 'SIGKILL']);
      expect(jobId).toBeDefined();
      const left = residueOf(jobId!);
      expect(left.processes.some((p) => p.includes('ganesha.nfsd'))).toBe(true);
      expect(processesInJobDirs(jobId!)).not.toEqual([]);
      expect(existsSync(join(jobFilesDir(jobId!), 'rootfs', 'root', 'etc', 'pxe-hil-marker'))).toBe(true);
      const doctor = await hil(['doctor', '--cleanup'], { env: hilEnv() });
      expect(doctor.stdout).toMatch(
        new RegExp(
          `cleanup: removed stale job ${jobId} of nfs-root-a: stopped pids [0-9, ]+, deleted namespace hil-${jobId}, removed its directory and its files`,
        ),
      );
      expect(doctor.stdout).toMatch(
        /^ok {3}ganesha\.nfsd {9}\S+ \(the job's NFS server; NFS roots, optional: --rootfs\)$/m,
      );
      await expectNothingLeft(jobId!);
      expect(await directoryDigest(givenDir)).toEqual(before.dir);
    },
    BOOT_TIMEOUT,
  );
});

/** A client at 10.42.0.51 on the job's bridge asks for the export over NFSv3; its namespace is removed after. */
async function foreignClient(jobId: string): Promise<{ exitCode: number; stderr: string }> {
  const clientNs = `nfsforeign${process.pid}`;
  try {
    await addNfsClient(`hil-${jobId}`, clientNs, `vf${process.pid % 100000}`, '10.42.0.51/24');
    return await nfsTool(clientNs, 'nfs-ls', ['nfs://10.42.0.1/rootfs']);
  } finally {
    await removeNfsClient(clientNs);
  }
}
