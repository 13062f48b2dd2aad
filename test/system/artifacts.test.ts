/**
 * Booting what a pipeline built: the job's own kernel and initrd, copied to a
 * folder outside the image cache and named on the command line; an image
 * file kept outside pxe-hil; the checks made before anything starts. Real
 * parts throughout: the job's dnsmasq, file server and QEMU.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFilesDir } from '../../harness/core/paths.js';
import {
  events,
  hil,
  jobIdOf,
  junitProblems,
  NO_RESIDUE,
  REPO,
  readResult,
  residueOf,
  resultsDirOf,
  resultsRoot,
  startHil,
} from '../support/hil.js';

const BOOT_TIMEOUT = 300_000;
/** The busybox image's shell prompt (harness/images/busybox-initramfs.ts). */
const PROMPT = 'hil-small# ';
let results: string;
/** A build's output folder, outside the image cache. */
let build: string;
let kernel: string;
let initrd: string;

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const property = (junit: string, name: string) =>
  new RegExp(`<property name="${name}" value="([^"]*)"/>`).exec(junit)?.[1];
const testcases = (junit: string) => [...junit.matchAll(/<testcase [^>]*name="([^"]+)"/g)].map((m) => m[1]);

beforeAll(async () => {
  results = resultsRoot();
  const prepared = await hil(['images', '--image', 'busybox']);
  expect(prepared.exitCode, prepared.stderr).toBe(0);
  const paths = /kernel (\S+)\n\s+initrd (\S+)/.exec(prepared.stdout);
  expect(paths, prepared.stdout).not.toBeNull();
  build = mkdtempSync(join(tmpdir(), 'hil-build-'));
  kernel = join(build, 'bzImage');
  initrd = join(build, 'rootfs.cpio.gz');
  copyFileSync(paths![1]!, kernel);
  copyFileSync(paths![2]!, initrd);
}, 600_000);

afterAll(() => {
  rmSync(results, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

function finished(stdout: string): string {
  const dir = resultsDirOf(stdout);
  expect(residueOf(jobIdOf(dir)), 'namespace or processes left behind by the run').toEqual(NO_RESIDUE);
  expect(existsSync(jobFilesDir(jobIdOf(dir))), "the job's copies of its files are removed").toBe(false);
  expect(junitProblems(join(dir, 'junit.xml')), 'junit.xml against the JUnit schema').toBe('');
  return dir;
}

describe("the job's own kernel and initrd", () => {
  it(
    'boots them by --kernel/--initrd/--ready to the ready line, pinned: the build rewritten mid-boot changes nothing',
    async () => {
      const original = { kernel: sha256(kernel), initrd: sha256(initrd) };
      const own = join(build, 'own-initrd.gz');
      copyFileSync(initrd, own);
      let rewritten = false;
      const child = startHil(
        ['--target', 'qemu-x86', '--kernel', kernel, '--initrd', own, '--ready', PROMPT, '--results', results],
        {
          // Once the PXE server is up the files are pinned: the next build writes over them.
          onLine: (line) => {
            if (!rewritten && / pxe +ready: /.test(line)) {
              writeFileSync(own, 'a later build, not a valid initrd');
              rewritten = true;
            }
          },
        },
      );
      const run = await child;
      expect(run.exitCode, String(run.all)).toBe(0);
      expect(rewritten).toBe(true);
      const dir = finished(String(run.stdout));
      const junit = readResult(dir, 'junit.xml');
      expect(testcases(junit)).toEqual([
        '01 DHCP lease',
        '02 kernel fetched',
        '03 initrd fetched',
        '04 Linux version',
        '05 init started',
        `06 ready: ${PROMPT}`,
      ]);
      expect(property(junit, 'image')).toBe('custom');
      expect(property(junit, 'artifact.kernel.sha256')).toBe(original.kernel);
      expect(property(junit, 'artifact.kernel.source')).toBe(kernel);
      expect(property(junit, 'artifact.initrd.sha256')).toBe(original.initrd);
      expect(property(junit, 'artifact.initrd.bytes')).toBe(String(readFileSync(initrd).length));
      const pinned = events(dir).filter((e) => e.type === 'artifact');
      expect(pinned.map((e) => [e.role, e.name, e.source, e.sha256])).toEqual([
        ['kernel', 'vmlinuz', kernel, original.kernel],
        ['initrd', 'initrd', own, original.initrd],
      ]);
      const allure = readdirSync(join(dir, 'allure-results')).find((f) => f.endsWith('-result.json'))!;
      const parameters = JSON.parse(readResult(dir, join('allure-results', allure))).parameters as {
        name: string;
        value: string;
      }[];
      expect(parameters.find((p) => p.name === 'kernel sha256')?.value).toMatch(new RegExp(`^${original.kernel} `));
      // The boot states follow the milestones: the kernel's banner, then the ready line.
      const states = events(dir)
        .filter((e) => e.type === 'boot-state')
        .map((e) => `${e.from}->${e.to}`);
      expect(states).toEqual(['unknown->off', 'off->bootloader', 'bootloader->kernel', 'kernel->shell', 'shell->off']);
    },
    BOOT_TIMEOUT,
  );

  it(
    'is ready when the board answers SSH (--ready ssh)',
    async () => {
      const run = await hil([
        '--target',
        'qemu-x86',
        '--kernel',
        kernel,
        '--initrd',
        initrd,
        '--ready',
        'ssh',
        '--results',
        results,
      ]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = finished(run.stdout);
      const reached = events(dir).find((e) => e.type === 'milestone' && e.name === 'SSH answers on port 22');
      expect(reached?.text).toMatch(/^SSH-2\.0-dropbear/);
    },
    BOOT_TIMEOUT,
  );
});

describe('extra files served by name', () => {
  it(
    'serves --file NAME=PATH to the board, which a suite fetches over the job network',
    async () => {
      const payload = join(build, 'payload.bin');
      writeFileSync(payload, `payload of build ${process.pid}\n`);
      const suite = join(build, 'fetch-payload.test.ts');
      writeFileSync(
        suite,
        [
          `import { expect, test } from '${join(REPO, 'fixtures/target.ts')}';`,
          "test('fetches the payload the job serves', async ({ target }) => {",
          '  const got = await target.ssh.exec(`wget -q -O - http://${target.serverIp}/payloads/payload.bin`);',
          `  expect(got).toEqual({ stdout: 'payload of build ${process.pid}', stderr: '', code: 0 });`,
          '});',
          '',
        ].join('\n'),
      );
      const run = await hil([
        ...['--target', 'qemu-x86', '--image', 'busybox', '--file', `payloads/payload.bin=${payload}`],
        ...['--suite', suite, '--results', results],
      ]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = finished(run.stdout);
      const junit = readResult(dir, 'junit.xml');
      expect(property(junit, 'artifact.file.payloads/payload.bin.sha256')).toBe(sha256(payload));
      expect(readResult(dir, 'suites-junit.xml')).toMatch(/tests="1" failures="0" errors="0"/);
    },
    BOOT_TIMEOUT,
  );
});

describe('files that are not there, or not files', () => {
  const refused = async (args: string[], line: string) => {
    const before = readdirSync(results);
    const run = await hil(['--target', 'qemu-x86', ...args, '--results', results]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(`pxe-hil: ${line}`);
    expect(run.stdout).toBe('');
    expect(readdirSync(results), 'no results: nothing was started').toEqual(before);
  };

  it('names a missing kernel, a directory given as initrd, a device given as dtb, a bad --file', async () => {
    await refused(['--kernel', join(build, 'no-such-file')], `--kernel ${join(build, 'no-such-file')}: no such file`);
    await refused(
      ['--kernel', kernel, '--initrd', build],
      `--initrd ${build}: is a directory; give the path of a regular file`,
    );
    await refused(
      ['--kernel', kernel, '--dtb', '/dev/null'],
      '--dtb /dev/null: is not a regular file; give the path of a regular file',
    );
    await refused(
      ['--kernel', kernel, '--file', 'preseed.cfg'],
      "--file 'preseed.cfg': expected NAME=PATH, e.g. --file preseed.cfg=out/preseed.cfg",
    );
    await refused(['--initrd', initrd], '--initrd needs a kernel: give --kernel PATH too, or --image NAME');
  });

  it('refuses suites on an image without an SSH login before it boots', async () => {
    await refused(
      ['--image', 'debian-netinstall', '--suite', 'smoke'],
      "--suite: image 'debian-netinstall' runs no SSH server, and suites log in over SSH; use --image busybox, or an image file with an 'ssh' login",
    );
  });
});

describe('image files kept outside pxe-hil', () => {
  let lab: string;

  beforeAll(() => {
    lab = mkdtempSync(join(tmpdir(), 'hil-lab-images-'));
    mkdirSync(join(lab, 'out'));
    copyFileSync(kernel, join(lab, 'out', 'kernel'));
    copyFileSync(initrd, join(lab, 'out', 'initramfs.gz'));
    // A plain module, as a product repository would keep it: no import of pxe-hil, patterns as strings.
    writeFileSync(
      join(lab, 'product.mjs'),
      `export default ${JSON.stringify(
        {
          name: 'product',
          description: 'the product build, as its own repository describes it',
          servedNames: { kernel: 'product/kernel', initrd: 'product/initramfs.gz' },
          artifacts: { kernel: 'out/kernel', initrd: 'out/initramfs.gz' },
          milestones: [
            { name: 'product: lease', event: 'lease', timeoutS: 120 },
            { name: 'product: kernel banner', console: 'Linux version \\S+', timeoutS: 120, enters: 'kernel' },
            { name: 'product: init', console: 'Run /\\S+ as init process', timeoutS: 120 },
            { name: 'product: shell', console: 'hil-small# ', timeoutS: 120 },
          ],
          failurePatterns: [{ name: 'product panic', console: 'Kernel panic - not syncing.*' }],
        },
        null,
        2,
      )};\n`,
    );
  });

  afterAll(() => rmSync(lab, { recursive: true, force: true }));

  it(
    'boots one by --images-dir with its own milestones and served names',
    async () => {
      const run = await hil(['--target', 'qemu-x86', '--images-dir', lab, '--image', 'product', '--results', results]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = finished(run.stdout);
      const junit = readResult(dir, 'junit.xml');
      expect(testcases(junit)).toEqual([
        '01 product: lease',
        '02 product: kernel banner',
        '03 product: init',
        '04 product: shell',
      ]);
      expect(property(junit, 'artifact.kernel.source')).toBe(join(lab, 'out', 'kernel'));
      const served = events(dir).filter((e) => e.type === 'file-served');
      expect(served.map((e) => e.path)).toEqual(['/boot.ipxe', '/product/kernel', '/product/initramfs.gz']);
    },
    BOOT_TIMEOUT,
  );

  it(
    'boots one by its path, with the kernel replaced by --kernel',
    async () => {
      const run = await hil([
        '--target',
        'qemu-x86',
        '--image',
        join(lab, 'product.mjs'),
        '--kernel',
        kernel,
        '--results',
        results,
      ]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const junit = readResult(finished(run.stdout), 'junit.xml');
      expect(property(junit, 'image')).toBe('product');
      expect(property(junit, 'artifact.kernel.source')).toBe(kernel);
      expect(property(junit, 'artifact.initrd.source')).toBe(join(lab, 'out', 'initramfs.gz'));
    },
    BOOT_TIMEOUT,
  );

  it('names what is wrong in an image file before anything starts', async () => {
    writeFileSync(
      join(lab, 'broken.mjs'),
      "export default { name: 'broken', artifacts: { kernel: 'out/missing' } };\n",
    );
    const run = await hil(['--target', 'qemu-x86', '--images-dir', lab, '--image', 'broken', '--results', results]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      `pxe-hil: image file ${join(lab, 'broken.mjs')}, field 'artifacts.kernel': ${join(lab, 'out', 'missing')}: no such file`,
    );
  });
});
