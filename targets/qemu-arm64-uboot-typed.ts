/**
 * The U-Boot board of qemu-arm64-uboot, booted by hand as it were: the
 * harness stops autoboot and types the boot commands at U-Boot's prompt,
 * each checked against U-Boot's error messages, instead of U-Boot running
 * the served boot script on its own.
 */
import { defineTarget } from '../harness/config/target.js';
import board from './qemu-arm64-uboot.js';

export default defineTarget({
  ...board,
  name: 'qemu-arm64-uboot-typed',
  description: 'QEMU arm64 virt board with U-Boot, boot commands typed at the U-Boot prompt',
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:68' },
  boot: {
    loader: 'auto',
    uboot: {
      ...board.boot?.uboot,
      mode: 'interactive',
      // Without `commands`: DHCP, then kernel and initrd over TFTP from {serverIp}, bootargs, booti.
    },
  },
});
