import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateTarget } from '../../harness/config/load-target.js';
import { linuxFailurePatterns, ubootFailurePatterns } from '../../harness/images/boot-patterns.js';
import { UsageError } from '../../harness/core/errors.js';
import { serverAddressOf } from '../../harness/run/stages/plan-boot.js';
import { prepareUbootBoot } from '../../harness/run/uboot-boot.js';

const target = (uboot: Record<string, unknown> | undefined) =>
  validateTarget(
    {
      name: 'board-1',
      image: 'debian-netinstall-arm64',
      power: { driver: 'command', on: 'true', off: 'true' },
      console: { kind: 'tcp', host: 'console-server', port: 7001 },
      network: { kind: 'qemu-tap', mac: '52:54:00:AB:00:01' },
      boot: uboot ? { uboot } : {},
      timeoutScale: 2,
    },
    'board-1.ts',
  );

/** An arm64 Image header: "ARM\x64" at 0x38 (Linux Documentation/arch/arm64/booting.rst). */
const arm64Image = join(mkdtempSync(join(tmpdir(), 'hil-uboot-boot-')), 'Image');
const header = Buffer.alloc(0x40);
header.write('ARM\x64', 0x38, 'latin1');
writeFileSync(arm64Image, header);

const options = (uboot: Record<string, unknown> | undefined, dtbDir?: string) => ({
  target: target(uboot),
  entry: { label: 'img on board-1', kernel: 'linux', initrd: 'initrd.gz', cmdline: 'console=ttyS2,1500000' },
  prepared: { kernel: '/cache/linux', initrd: '/cache/initrd.gz', provenance: 'test', dtbDir },
  kernelPath: arm64Image,
  imageName: 'debian-netinstall-arm64',
  imageFailurePatterns: linuxFailurePatterns,
  serverIp: '10.42.0.1',
  boardIp: '10.42.0.10',
});

describe('prepareUbootBoot (a real board: serial console server, command power)', () => {
  it('adds nothing for a board without U-Boot', async () => {
    const boot = await prepareUbootBoot(options(undefined));
    expect(boot.files).toEqual([]);
    expect(boot.dialogue).toBeUndefined();
    expect(boot.failurePatterns).toBe(linuxFailurePatterns);
  });

  it('serves the named device tree as dtb/<fdtfile> and boots with it, typed at the prompt', async () => {
    const boot = await prepareUbootBoot(
      options({ mode: 'interactive', fdtfile: 'rockchip/rk3399-rock-pi-4b.dtb', commandTimeoutS: 60 }, '/cache/dtbs'),
    );
    expect(boot.files).toEqual([
      { name: 'dtb/rockchip/rk3399-rock-pi-4b.dtb', role: 'other', path: '/cache/dtbs/rockchip/rk3399-rock-pi-4b.dtb' },
    ]);
    expect(boot.entry.fdt).toBe('dtb/rockchip/rk3399-rock-pi-4b.dtb');
    expect(boot.dialogue).toEqual({
      interrupt: 'Hit any key to stop autoboot',
      interruptKey: ' ',
      prompt: '=> ',
      commands: [
        'setenv tftpblocksize 1468',
        'setenv tftpwindowsize 16',
        'setenv autoload no',
        'dhcp',
        'setenv serverip 10.42.0.1',
        'tftpboot ${kernel_addr_r} linux',
        'tftpboot ${fdt_addr_r} dtb/rockchip/rk3399-rock-pi-4b.dtb',
        'tftpboot ${ramdisk_addr_r} initrd.gz',
        "setenv bootargs 'console=ttyS2,1500000'",
        'booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}',
      ],
      commandTimeoutMs: 120_000,
      interruptTimeoutMs: 240_000,
      failurePatterns: [...linuxFailurePatterns, ...ubootFailurePatterns],
    });
  });

  it("sets U-Boot's TFTP block and window sizes from the target", async () => {
    const boot = await prepareUbootBoot(options({ mode: 'interactive', tftpBlockSize: 512, tftpWindowSize: 1 }));
    expect(boot.dialogue?.commands.slice(0, 2)).toEqual(['setenv tftpblocksize 512', 'setenv tftpwindowsize 1']);
  });

  it('in script mode serves boot.scr.uimg and types nothing', async () => {
    const boot = await prepareUbootBoot(options({ mode: 'script' }));
    expect(boot.dialogue).toBeUndefined();
    expect(boot.files.map((f) => [f.name, f.role])).toEqual([['boot.scr.uimg', 'boot-config']]);
    const file = boot.files[0]!;
    const bytes = Buffer.from('content' in file ? file.content : '', 'base64');
    expect(bytes.readUInt32BE(0)).toBe(0x27051956);
    expect(bytes.subarray(72).toString()).toBe(
      [
        "echo 'pxe-hil: booting img on board-1'",
        'setenv tftpblocksize 1468',
        'setenv tftpwindowsize 16',
        'setenv serverip 10.42.0.1',
        'tftpboot ${kernel_addr_r} linux',
        'tftpboot ${ramdisk_addr_r} initrd.gz',
        "setenv bootargs 'console=ttyS2,1500000'",
        'booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}',
        '',
      ].join('\n'),
    );
  });

  it('refuses a device tree the image does not ship, saying how to fix it', async () => {
    await expect(prepareUbootBoot(options({ fdtfile: 'board.dtb' }))).rejects.toThrow(UsageError);
    await expect(prepareUbootBoot(options({ fdtfile: 'board.dtb' }))).rejects.toThrow(
      /names device tree 'board\.dtb', but image debian-netinstall-arm64 ships no device trees\. Fix: /,
    );
  });
});

describe('the server address U-Boot is told', () => {
  const board = (network: Record<string, unknown>) =>
    validateTarget(
      {
        name: 'board-1',
        image: 'debian-netinstall-arm64',
        power: { driver: 'command', on: 'true', off: 'true' },
        console: { kind: 'tcp', host: 'console-server', port: 7001 },
        network: { mac: '52:54:00:AB:00:01', ...network },
        boot: { uboot: { mode: 'interactive', commandTimeoutS: 60 } },
      },
      'board-1.ts',
    );

  it("is the target's own address on a lab network, the job network's server on a QEMU tap", () => {
    expect(
      serverAddressOf(
        board({
          kind: 'lab',
          interface: 'enp3s0',
          mode: 'dhcp',
          serverAddress: '192.168.77.251/24',
          boardAddress: '192.168.77.20',
        }),
        '0badcafe',
      ),
    ).toBe('192.168.77.251');
    expect(serverAddressOf(board({ kind: 'qemu-tap' }), '0badcafe')).toBe('10.42.0.1');
  });
});
