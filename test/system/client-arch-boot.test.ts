/**
 * Boot files by client architecture, end to end: a QEMU board with OVMF
 * (x86-64 UEFI, option 93 = 7) netboots the busybox image through the job's
 * PXE server. Its firmware PXE client gets ipxe.efi from Debian's ipxe
 * package over TFTP; that iPXE gets boot.ipxe and fetches kernel and initrd
 * over HTTP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, hil, jobIdOf, NO_RESIDUE, residueOf, resultsDirOf, resultsRoot, type LoggedEvent } from '../support/hil.js';

let targetsDir: string;
let results: string;

function writeTarget(name: string, mac: string, firmware: 'bios' | 'uefi', loader: 'auto' | 'pxelinux'): void {
  const target = {
    name,
    description: `${firmware} board, loader ${loader}`,
    image: 'busybox',
    power: { driver: 'qemu', memoryMiB: 1024, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg', firmware },
    console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
    network: { kind: 'qemu-tap', mac },
    boot: { loader },
    // OVMF under TCG on a shared host: generous time for every milestone.
    timeoutScale: 4,
  };
  writeFileSync(join(targetsDir, `${name}.ts`), `export default ${JSON.stringify(target, null, 2)};\n`);
}

beforeAll(async () => {
  targetsDir = mkdtempSync(join(tmpdir(), 'hil-targets-'));
  results = resultsRoot();
  writeTarget('arch-uefi', '52:54:00:ae:00:07', 'uefi', 'auto');
  const prepared = await hil(['images', '--image', 'busybox']);
  expect(prepared.exitCode, prepared.stderr).toBe(0);
}, 600_000);

afterAll(() => {
  rmSync(targetsDir, { recursive: true, force: true });
  rmSync(results, { recursive: true, force: true });
});

const served = (logged: LoggedEvent[]) => logged.filter((e) => e.type === 'file-served').map((e) => `${e.protocol} ${e.path}`);

describe('boot file by client architecture', () => {
  it('x86-64 UEFI (OVMF): the firmware chainloads ipxe.efi over TFTP, then iPXE boots the shell over HTTP', async () => {
    const run = await hil(['--target', 'arch-uefi', '--targets-dir', targetsDir, '--results', results]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const dir = resultsDirOf(run.stdout);
    const logged = events(dir);
    expect(served(logged)).toEqual(['tftp ipxe.efi', 'http /boot.ipxe', 'http /vmlinuz', 'http /initrd.cpio.gz']);
    expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toContain('shell prompt');
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
  }, 600_000);
});
