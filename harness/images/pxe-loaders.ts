/**
 * The network boot loaders the PXE server hands to plain PXE clients, from
 * Debian's packages: pxelinux.0 (package pxelinux) and the ldlinux.c32 it
 * loads next (package syslinux-common).
 *
 * Reference: PXELINUX docs (pxelinux.0 needs ldlinux.c32 from the same TFTP directory).
 */
import { join } from 'node:path';
import type { ServedFile } from '../pxe/file-table.js';
import { unpackPackage } from './apt-packages.js';

export async function biosPxeLoaders(): Promise<ServedFile[]> {
  const [pxelinux, syslinux] = await Promise.all([unpackPackage('pxelinux'), unpackPackage('syslinux-common')]);
  return [
    { name: 'pxelinux.0', role: 'bootloader', path: join(pxelinux.root, 'usr/lib/PXELINUX/pxelinux.0') },
    { name: 'ldlinux.c32', role: 'bootloader', path: join(syslinux.root, 'usr/lib/syslinux/modules/bios/ldlinux.c32') },
  ];
}
