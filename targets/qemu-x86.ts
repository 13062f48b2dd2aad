/**
 * A QEMU virtual x86-64 board: the dry-run target that needs no hardware.
 * It is powered by starting QEMU, wired to the job's own network namespace
 * through a tap device, and its serial port is the console.
 */
import { defineTarget } from '../harness/config/target.js';

export default defineTarget({
  name: 'qemu-x86',
  description: 'QEMU x86-64 virtual board netbooting the Debian 12 installer',
  image: 'debian-netinstall',
  // TCG: the same speed on every host. Nested KVM (a CI runner that is itself a VM) can be
  // ten times slower than TCG here; where KVM is known good, set 'kvm' or PXE_HIL_ACCEL=kvm.
  power: { driver: 'qemu', memoryMiB: 1024, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg' },
  console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:01' },
  boot: { loader: 'auto' },
  powerOffAtEnd: true,
  // The CI host it runs on: any host with QEMU; the Jenkinsfile's HIL stages run on agents labelled hil-lab.
  jenkins: { agent: 'hil-lab' },
  // A QEMU PC, any firmware: a job that asks for `--pool qemu-pc` (Jenkins: lock label pool-qemu-pc) may get it.
  pools: ['qemu-pc'],
});
