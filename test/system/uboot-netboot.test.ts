/**
 * End to end on a U-Boot board: QEMU's arm64 'virt' machine started in
 * Debian's qemu_arm64 U-Boot netboots the Debian 12 arm64 installer to its
 * first screen through the job, once by the boot script U-Boot's distro boot
 * fetches on its own, once by stopping autoboot and typing the commands. A
 * wrong command (a file the server does not have) fails at once, with
 * U-Boot's error in the JUnit failure.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import board from '../../targets/qemu-arm64-uboot.js';
import {
  events,
  hil,
  jobIdOf,
  NO_RESIDUE,
  readResult,
  residueOf,
  resultsDirOf,
  type LoggedEvent,
  writeTargetFile,
} from '../support/hil.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let targetsDir: string;
let results: string;

/** The board of targets/qemu-arm64-uboot.ts under another name, with its U-Boot part changed. */
function writeTarget(name: string, mac: string, uboot: Record<string, unknown>): void {
  const target = {
    ...board,
    name,
    network: { kind: 'qemu-tap', mac },
    boot: { ...board.boot, uboot: { ...board.boot?.uboot, ...uboot } },
  };
  writeTargetFile(targetsDir, target);
}

beforeAll(() => {
  targetsDir = files.tempDir('hil-uboot-targets-');
  results = files.results();
  writeTarget('uboot-script', '52:54:00:a1:00:65', { mode: 'script' });
  writeTarget('uboot-typed', '52:54:00:a1:00:66', { mode: 'interactive' });
  writeTarget('uboot-wrong-file', '52:54:00:a1:00:67', {
    mode: 'interactive',
    commands: [
      'setenv autoload no',
      'dhcp',
      'tftpboot ${kernel_addr_r} no-such-kernel',
      'booti ${kernel_addr_r} - {fdtAddr}',
    ],
  });
});

const BOOTED = [
  'U-Boot banner',
  'DHCP lease',
  'kernel fetched',
  'initrd fetched',
  'Starting kernel',
  'Linux version',
  'init started',
  'installer: Select a language',
];
const milestones = (logged: LoggedEvent[]) => logged.filter((e) => e.type === 'milestone').map((e) => e.name);
const states = (logged: LoggedEvent[]) =>
  logged.filter((e) => e.type === 'boot-state').map((e) => `${e.from}->${e.to}`);
const served = (logged: LoggedEvent[]) =>
  logged.filter((e) => e.type === 'file-served').map((e) => `${e.path} ${e.bytes}`);
const loadedByUboot = (logged: LoggedEvent[]) =>
  logged.filter((e) => e.type === 'bootloader-load').map((e) => `${e.file} ${e.bytes}`);
const run = (target: string) => hil(['--target', target, '--targets-dir', targetsDir, '--results', results]);

describe('U-Boot board (QEMU arm64 virt, Debian u-boot-qemu)', () => {
  it('boots the arm64 installer by the boot script distro boot fetches', async () => {
    const result = await run('uboot-script');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const dir = resultsDirOf(result.stdout);
    const logged = events(dir);
    expect(milestones(logged)).toEqual(BOOTED);
    // U-Boot asked as a U-Boot client and got its script; never an x86 loader.
    expect(served(logged).map((s) => s.split(' ')[0])).toEqual(['boot.scr.uimg', 'linux', 'initrd.gz']);
    expect(logged.filter((e) => e.type === 'bootloader-command')).toEqual([]);
    // What U-Boot says it loaded is what the server says it sent.
    expect(loadedByUboot(logged)).toEqual(served(logged));
    expect(readResult(dir, 'pxe.log')).toMatch(/vendor class: U-Boot\.armv8/);
    expect(states(logged)).toEqual([
      'unknown->off',
      'off->bootloader',
      'bootloader->kernel',
      'kernel->shell',
      'shell->off',
    ]);
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 900_000);

  it('boots it by stopping autoboot and typing the commands, each checked', async () => {
    const result = await run('uboot-typed');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const dir = resultsDirOf(result.stdout);
    const logged = events(dir);
    expect(milestones(logged)).toEqual(BOOTED);
    expect(served(logged).map((s) => s.split(' ')[0])).toEqual(['linux', 'initrd.gz']);
    const commands = logged.filter((e) => e.type === 'bootloader-command').map((e) => `${e.command}: ${e.result}`);
    expect(commands).toEqual([
      '(autoboot stopped): ok',
      'setenv tftpblocksize 1468: ok',
      'setenv tftpwindowsize 16: ok',
      'setenv autoload no: ok',
      'dhcp: ok',
      'setenv serverip 10.42.0.1: ok',
      'tftpboot ${kernel_addr_r} linux: ok',
      'tftpboot ${ramdisk_addr_r} initrd.gz: ok',
      "setenv bootargs 'console=ttyAMA0,115200': ok",
      'booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}: sent',
    ]);
    // Each file U-Boot loaded, in U-Boot's own words, matches what the server sent.
    const loaded = logged
      .filter((e) => e.type === 'bootloader-command' && String(e.command).startsWith('tftpboot'))
      .map((e) => e.detail);
    const sizes = logged.filter((e) => e.type === 'file-served').map((e) => Number(e.bytes));
    expect(loaded).toEqual(
      sizes.map((bytes) => expect.stringMatching(new RegExp(`^Bytes transferred = ${bytes} \\(`))),
    );
    expect(loadedByUboot(logged)).toEqual(served(logged));
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 900_000);

  it("fails at once on a command for a file the server does not have, with U-Boot's error in the JUnit failure", async () => {
    const result = await run('uboot-wrong-file');
    expect(result.exitCode, result.stdout + result.stderr).toBe(1);
    const dir = resultsDirOf(result.stdout);
    const logged = events(dir);
    // Failed on the command itself: no milestone after the lease was waited for.
    expect(milestones(logged)).toEqual(['U-Boot banner', 'DHCP lease']);
    expect(logged.filter((e) => e.type === 'milestone-timeout')).toEqual([]);
    expect(logged.find((e) => e.type === 'bootloader-command' && e.result === 'failed')).toMatchObject({
      command: 'tftpboot ${kernel_addr_r} no-such-kernel',
      detail: "TFTP error: 'not in the job's file table' (1)",
    });
    const junit = readResult(dir, 'junit.xml');
    expect(junit).toContain(
      `<failure message="U-Boot TFTP failed: TFTP error: 'not in the job's file table' (1)" type="U-Boot TFTP failed">`,
    );
    expect(states(logged)).toEqual(['unknown->off', 'off->bootloader', 'bootloader->unknown', 'unknown->off']);
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 300_000);
});
