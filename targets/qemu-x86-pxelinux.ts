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
  // TCG: the same speed on every host. Nested KVM (a CI runner that is itself a VM) can be
  // ten times slower than TCG here; where KVM is known good, set 'kvm' or PXE_HIL_ACCEL=kvm.
  power: { driver: 'qemu', memoryMiB: 1024, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg' },
  console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:02' },
  boot: { loader: 'pxelinux' },
  powerOffAtEnd: true,
});
