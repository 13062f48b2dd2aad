/**
 * A QEMU 32-bit Arm virtual board whose firmware is U-Boot: the 'virt'
 * machine with a Cortex-A15, started in Debian's qemu_arm U-Boot (package
 * u-boot-qemu), netbooting the Debian 12 armhf installer, whose kernel is a
 * zImage: U-Boot runs it with bootz. Only `power` and `console` are virtual.
 */
import { defineTarget } from '../harness/config/target.js';

export default defineTarget({
  name: 'qemu-arm-uboot',
  description: 'QEMU 32-bit Arm virt board with U-Boot netbooting the Debian 12 armhf installer (bootz)',
  image: 'debian-netinstall-armhf',
  power: {
    driver: 'qemu',
    // Another architecture than the host's: always TCG.
    arch: 'arm',
    cpu: 'cortex-a15',
    bios: '/usr/lib/u-boot/qemu_arm/u-boot.bin',
    memoryMiB: 1024,
    cpus: 1,
    // As on the arm64 board: U-Boot's e1000 reads the MAC QEMU gives it.
    nic: 'e1000',
    accel: 'tcg',
  },
  // The virt machine's PL011 UART is ttyAMA0 to Linux.
  console: { kind: 'qemu-socket', kernelConsole: 'ttyAMA0,115200' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:32' },
  boot: {
    loader: 'auto',
    uboot: {
      mode: 'script',
      arch: 'arm',
      interrupt: 'Hit any key to stop autoboot',
      prompt: '=> ',
      commandTimeoutS: 600,
    },
  },
  timeoutScale: 1,
  powerOffAtEnd: true,
});
