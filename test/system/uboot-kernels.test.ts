/**
 * U-Boot boards run the kernel the job serves with the command its format
 * needs: the arm64 board boots an `Image` given by --kernel with booti (typed
 * at its prompt, so each command is a step event), the 32-bit Arm board the
 * armhf installer's zImage with bootz. Real QEMU boards (TCG) with Debian's
 * U-Boot (u-boot-qemu) and Debian's installer kernels.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, hil, jobIdOf, NO_RESIDUE, readResult, residueOf, resultsDirOf, resultsRoot } from '../support/hil.js';

const BOOT_TIMEOUT = 600_000;
let results: string;
let build: string;

/** The kernel and initrd paths `hil images` prints for an image. */
async function imageFiles(name: string): Promise<{ kernel: string; initrd: string }> {
  const prepared = await hil(['images', '--image', name]);
  expect(prepared.exitCode, prepared.stderr).toBe(0);
  const paths = /kernel (\S+)\n\s+initrd (\S+)/.exec(prepared.stdout);
  expect(paths, prepared.stdout).not.toBeNull();
  return { kernel: paths![1]!, initrd: paths![2]! };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const property = (junit: string, name: string) =>
  new RegExp(`<property name="${name}" value="([^"]*)"/>`).exec(junit)?.[1];

beforeAll(() => {
  results = resultsRoot();
  build = mkdtempSync(join(tmpdir(), 'hil-arm-build-'));
});

afterAll(() => {
  rmSync(results, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

function finished(stdout: string): string {
  const dir = resultsDirOf(stdout);
  expect(residueOf(jobIdOf(dir)), 'namespace or processes left behind by the run').toEqual(NO_RESIDUE);
  return dir;
}

describe('U-Boot boards and the kernels they are given', () => {
  it(
    "boots an arm64 Image given by --kernel with booti, typed at U-Boot's prompt",
    async () => {
      const installer = await imageFiles('debian-netinstall-arm64');
      const kernel = join(build, 'Image');
      const initrd = join(build, 'initrd.gz');
      copyFileSync(installer.kernel, kernel);
      copyFileSync(installer.initrd, initrd);
      const run = await hil([
        '--target',
        'qemu-arm64-uboot-typed',
        '--kernel',
        kernel,
        '--initrd',
        initrd,
        '--results',
        results,
      ]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = finished(run.stdout);
      const typed = events(dir).filter((e) => e.type === 'bootloader-command');
      expect(typed.at(-1)).toMatchObject({
        command: 'booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}',
        result: 'sent',
      });
      expect(typed.some((e) => e.command === 'tftpboot ${kernel_addr_r} vmlinuz' && e.result === 'ok')).toBe(true);
      expect(property(readResult(dir, 'junit.xml'), 'artifact.kernel.sha256')).toBe(sha256(kernel));
      expect(readResult(dir, 'console.log')).toMatch(/Run \/init as init process/);
    },
    BOOT_TIMEOUT,
  );

  it(
    "boots the armhf installer's zImage with bootz on a 32-bit Arm board",
    async () => {
      const installer = await imageFiles('debian-netinstall-armhf');
      const zImage = join(build, 'zImage');
      copyFileSync(installer.kernel, zImage);
      const run = await hil([
        '--target',
        'qemu-arm-uboot',
        '--image',
        'debian-netinstall-armhf',
        '--kernel',
        zImage,
        '--results',
        results,
      ]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = finished(run.stdout);
      const console = readResult(dir, 'console.log');
      // bootz reports the zImage it found; booti would have refused it ("Bad Linux ARM64 Image magic!").
      expect(console).toMatch(/Kernel image @ 0x[0-9a-f]+ \[ 0x0+ - 0x[0-9a-f]+ \]/);
      expect(console).toMatch(/Select a language/);
      const junit = readResult(dir, 'junit.xml');
      expect(property(junit, 'image')).toBe('debian-netinstall-armhf');
      expect(property(junit, 'artifact.kernel.sha256')).toBe(sha256(zImage));
    },
    BOOT_TIMEOUT,
  );
});
