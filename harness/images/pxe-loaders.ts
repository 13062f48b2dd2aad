/**
 * The network boot loaders the PXE server hands to plain PXE clients, from
 * Debian's packages: pxelinux.0 (package pxelinux) and the ldlinux.c32 it
 * loads next (package syslinux-common); and iPXE for firmware PXE ROMs to
 * chainload (package ipxe): undionly.kpxe for BIOS, ipxe.efi for x86-64 UEFI;
 * and GRUB's network image for x86-64 UEFI (package grub-efi-amd64-signed),
 * served as grubx64.efi, which reads grub/grub.cfg from the TFTP server.
 *
 * Reference: PXELINUX docs (pxelinux.0 needs ldlinux.c32 from the same TFTP directory);
 * iPXE docs "chainloading" (undionly.kpxe keeps the ROM's UNDI driver; ipxe.efi has its own drivers).
 */
import { join } from 'node:path';
import type { ServedFile } from '../core/boot.js';
import { unpackPackage } from './apt-packages.js';

export async function biosPxeLoaders(): Promise<ServedFile[]> {
  const [pxelinux, syslinux] = await Promise.all([unpackPackage('pxelinux'), unpackPackage('syslinux-common')]);
  return [
    { name: 'pxelinux.0', role: 'bootloader', path: join(pxelinux.root, 'usr/lib/PXELINUX/pxelinux.0') },
    { name: 'ldlinux.c32', role: 'bootloader', path: join(syslinux.root, 'usr/lib/syslinux/modules/bios/ldlinux.c32') },
  ];
}

export async function ipxeChainLoaders(): Promise<ServedFile[]> {
  const ipxe = await unpackPackage('ipxe');
  return [
    { name: 'undionly.kpxe', role: 'bootloader', path: join(ipxe.root, 'usr/lib/ipxe/undionly.kpxe') },
    // usr/lib/ipxe/ipxe.efi is an absolute symlink to /boot/ipxe.efi: take the file itself.
    { name: 'ipxe.efi', role: 'bootloader', path: join(ipxe.root, 'boot/ipxe.efi') },
  ];
}

export async function uefiGrubLoader(): Promise<ServedFile[]> {
  const grub = await unpackPackage('grub-efi-amd64-signed');
  return [
    {
      name: 'grubx64.efi',
      role: 'bootloader',
      path: join(grub.root, 'usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed'),
    },
  ];
}
