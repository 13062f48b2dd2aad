import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../harness/core/errors.js';
import { renderPxelinuxConfig } from '../../harness/pxe/boot-config.js';
import { dnsmasqArguments } from '../../harness/pxe/dnsmasq.js';
import {
  makeUbootScriptImage,
  renderUbootCommand,
  renderUbootCommands,
  renderUbootScript,
  ubootFacts,
  type UbootFacts,
} from '../../harness/pxe/uboot-commands.js';

const entry = {
  label: 'debian-netinstall-arm64 on board',
  kernel: 'linux',
  initrd: 'initrd.gz',
  cmdline: 'console=ttyAMA0,115200',
};
const facts = (fdtfile?: string): UbootFacts =>
  ubootFacts({
    entry,
    serverIp: '10.42.0.1',
    boardIp: '10.42.0.10',
    mac: '52:54:00:a1:00:64',
    fdtfile,
    tftp: { blockSize: 1468, windowSize: 16 },
  });

describe('U-Boot commands', () => {
  it("typed at the prompt: DHCP without autoload, then kernel and initrd over TFTP and booti on U-Boot's own tree", () => {
    expect(renderUbootCommands(undefined, facts(), 'typed')).toEqual([
      'setenv tftpblocksize 1468',
      'setenv tftpwindowsize 16',
      'setenv autoload no',
      'dhcp',
      'setenv serverip 10.42.0.1',
      'tftpboot ${kernel_addr_r} linux',
      'tftpboot ${ramdisk_addr_r} initrd.gz',
      "setenv bootargs 'console=ttyAMA0,115200'",
      'booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}',
    ]);
  });

  it("with a device tree: loads dtb/<fdtfile> before the initrd (so ${filesize} is the initrd's) and boots with it", () => {
    const commands = renderUbootCommands(undefined, facts('rockchip/rk3399-rock-pi-4b.dtb'), 'script');
    expect(commands).toEqual([
      'setenv tftpblocksize 1468',
      'setenv tftpwindowsize 16',
      'setenv serverip 10.42.0.1',
      'tftpboot ${kernel_addr_r} linux',
      'tftpboot ${fdt_addr_r} dtb/rockchip/rk3399-rock-pi-4b.dtb',
      'tftpboot ${ramdisk_addr_r} initrd.gz',
      "setenv bootargs 'console=ttyAMA0,115200'",
      'booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}',
    ]);
  });

  it("fills the job's facts into a target's own commands and leaves U-Boot's variables alone", () => {
    expect(
      renderUbootCommand(
        'tftpboot ${loadaddr} {serverIp}:{kernel}; setenv ethaddr {mac}; echo {boardIp} {initrd}',
        facts(),
      ),
    ).toBe('tftpboot ${loadaddr} 10.42.0.1:linux; setenv ethaddr 52:54:00:a1:00:64; echo 10.42.0.10 initrd.gz');
  });

  it('refuses a fact it does not know, naming the ones it does', () => {
    expect(() => renderUbootCommand('tftpboot {kernelAddr} x', facts())).toThrow(UsageError);
    expect(() => renderUbootCommand('tftpboot {kernelAddr} x', facts())).toThrow(
      /names \{kernelAddr\}, which is not a job fact\. Fix: use one of \{serverIp\}, \{boardIp\}/,
    );
  });

  it('renders a boot script: an echo naming the boot, then the commands', () => {
    expect(
      renderUbootScript("img on 'board'", [
        'tftpboot ${kernel_addr_r} linux',
        'booti ${kernel_addr_r} - ${fdtcontroladdr}',
      ]),
    ).toBe(
      "echo 'pxe-hil: booting img on board'\ntftpboot ${kernel_addr_r} linux\nbooti ${kernel_addr_r} - ${fdtcontroladdr}\n",
    );
  });

  it('packs the script with mkimage as a legacy script image (magic 27051956, type script) that dumpimage reads back', async () => {
    const image = await makeUbootScriptImage('echo hello\n', 'arm64', 'pxe-hil test');
    expect(image.readUInt32BE(0)).toBe(0x27051956);
    expect(image[30]).toBe(6); // image type: script
    const dir = mkdtempSync(join(tmpdir(), 'hil-uboot-test-'));
    let listed: string;
    try {
      writeFileSync(join(dir, 'boot.scr.uimg'), image);
      listed = execaSync('dumpimage', ['-l', join(dir, 'boot.scr.uimg')]).stdout;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(listed).toMatch(/Image Name:\s+pxe-hil test/);
    expect(listed).toMatch(/Image Type:\s+AArch64 Linux Script \(uncompressed\)/);
    // Script payload: a table of lengths (one, then a zero), then the text.
    expect(image.subarray(64 + 8).toString()).toBe('echo hello\n');
  });

  it('names the device tree in the pxelinux config for `pxe get`', () => {
    expect(renderPxelinuxConfig({ ...entry, fdt: 'dtb/board.dtb' })).toContain('  FDT dtb/board.dtb\n');
  });
});

describe('DHCP for U-Boot and Arm UEFI clients', () => {
  const plan = {
    interface: 'br0',
    serverIp: '10.42.0.1',
    netmask: '255.255.255.0',
    subnet: '10.42.0.0',
    hosts: [{ mac: '52:54:00:a1:00:64', ip: '10.42.0.10', hostname: 'board' }],
    pxeBootFile: 'pxelinux.0',
    ipxeScriptUrl: 'http://10.42.0.1/boot.ipxe',
    leaseFile: '/run/hil/j1/dnsmasq.leases',
    pidFile: '/run/hil/j1/dnsmasq.pid',
  };
  const bootLines = (args: string[]) => args.filter((a) => a.startsWith('--dhcp-boot='));

  it('tags U-Boot by vendor class and client arch 21/22, Arm UEFI by client arch 10/11', () => {
    const args = dnsmasqArguments({ ...plan, ubootScript: 'boot.scr.uimg' });
    expect(args.filter((a) => /^--dhcp-(vendorclass|match)=set:(uboot|arm-efi)/.test(a))).toEqual([
      '--dhcp-vendorclass=set:uboot,U-Boot',
      '--dhcp-match=set:uboot,option:client-arch,21',
      '--dhcp-match=set:uboot,option:client-arch,22',
      '--dhcp-match=set:arm-efi,option:client-arch,10',
      '--dhcp-match=set:arm-efi,option:client-arch,11',
    ]);
  });

  // dnsmasq takes the last matching --dhcp-boot line: the Arm lines come after the x86 ones.
  it('gives U-Boot its script and Arm UEFI clients no file, after the x86 lines', () => {
    const lines = bootLines(dnsmasqArguments({ ...plan, ubootScript: 'boot.scr.uimg' }));
    expect(lines.slice(-2)).toEqual([
      '--dhcp-boot=tag:uboot,boot.scr.uimg,,10.42.0.1',
      '--dhcp-boot=tag:arm-efi,tag:!uboot,,,10.42.0.1',
    ]);
    expect(lines.slice(0, -2).every((l) => !/uboot|arm-efi/.test(l))).toBe(true);
  });

  it('gives U-Boot no file when the job has no script for it', () => {
    expect(bootLines(dnsmasqArguments(plan)).at(-2)).toBe('--dhcp-boot=tag:uboot,,,10.42.0.1');
  });
});
