/**
 * A QEMU x86-64 board with UEFI firmware (OVMF) and its own PXE client, as a
 * UEFI server netboots: the firmware gets ipxe.efi (option 93 = 7) over TFTP,
 * and iPXE fetches the boot script, kernel and initrd over HTTP.
 */
import { defineTarget } from '../harness/config/target.js';

export default defineTarget({
  name: 'qemu-x86-uefi',
  description: 'QEMU x86-64 board with OVMF: firmware PXE chainloads ipxe.efi, then HTTP',
  image: 'busybox',
  // OVMF's own network driver is virtio-net's; TCG as on qemu-x86-pxelinux.
  power: { driver: 'qemu', memoryMiB: 1024, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg', firmware: 'uefi' },
  console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:03' },
  boot: { loader: 'auto' },
  powerOffAtEnd: true,
  // OVMF under TCG takes some seconds more before the lease.
  timeoutScale: 2,
  // The other QEMU PC of pool qemu-pc (see qemu-x86.ts).
  pools: ['qemu-pc'],
});
