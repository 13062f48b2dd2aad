/**
 * A QEMU arm64 virtual board whose firmware is U-Boot: the 'virt' machine
 * with a Cortex-A57, started in Debian's qemu_arm64 U-Boot (package
 * u-boot-qemu), netbooting the Debian 12 arm64 installer through the job's
 * PXE server. Only `power` and `console` are virtual; the `boot.uboot` part
 * is the same for a real board on a serial console and a PDU outlet.
 */
import { defineTarget } from '../harness/config/target.js';

export default defineTarget({
  name: 'qemu-arm64-uboot',
  description: 'QEMU arm64 virt board with U-Boot netbooting the Debian 12 arm64 installer',
  image: 'debian-netinstall-arm64',
  power: {
    driver: 'qemu',
    // Another architecture than the host's: always TCG.
    arch: 'aarch64',
    cpu: 'cortex-a57',
    bios: '/usr/lib/u-boot/qemu_arm64/u-boot.bin',
    memoryMiB: 1024,
    cpus: 1,
    // U-Boot 2023.01's virtio-net driver reads a wrong MAC (52:52:52:52:52:52) from QEMU 7.2,
    // which the job's DHCP server (answering only the target's MAC) ignores; its e1000 reads the right one.
    nic: 'e1000',
    accel: 'tcg',
  },
  // The virt machine's PL011 UART is ttyAMA0 to Linux.
  console: { kind: 'qemu-socket', kernelConsole: 'ttyAMA0,115200' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:64' },
  boot: {
    loader: 'auto',
    uboot: {
      // 'script': U-Boot's distro boot asks DHCP (vendor class U-Boot.armv8), fetches the
      // generated boot.scr.uimg and runs it. 'interactive': autoboot is stopped at `interrupt`
      // and `commands` are typed at `prompt` ({serverIp}, {kernel}, {initrd}, {fdtAddr},
      // {cmdline}... are the job's facts; without `commands` the default TFTP + booti list).
      mode: 'script',
      arch: 'arm64',
      // No fdtfile: the kernel gets the device tree QEMU handed U-Boot (${fdtcontroladdr}).
      interrupt: 'Hit any key to stop autoboot',
      prompt: '=> ',
      commandTimeoutS: 600,
    },
  },
  // U-Boot's TFTP under TCG is slow: about 73 MB of kernel and initrd.
  timeoutScale: 1,
  powerOffAtEnd: true,
});
