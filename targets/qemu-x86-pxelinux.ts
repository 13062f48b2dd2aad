/**
 * The QEMU board of qemu-x86, booted as a plain PXE client is: pxelinux.0,
 * its config and the kernel and initrd over TFTP, instead of iPXE over HTTP.
 * It keeps the TFTP path of the PXE server under test.
 */
import { defineTarget } from '../harness/config/target.js';

export default defineTarget({
  name: 'qemu-x86-pxelinux',
  description: 'QEMU x86-64 board booted the classic way: pxelinux, kernel and initrd over TFTP',
  image: 'busybox',
  power: { driver: 'qemu', memoryMiB: 1024, cpus: 1, nic: 'virtio-net-pci', accel: 'auto' },
  console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:02' },
  boot: { loader: 'pxelinux' },
  powerOffAtEnd: true,
});
