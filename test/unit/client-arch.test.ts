import { describe, expect, it } from 'vitest';
import { archBootFiles, CLIENT_ARCHES } from '../../harness/pxe/client-arch.js';

const ALL_LOADERS = ['pxelinux.0', 'ldlinux.c32', 'undionly.kpxe', 'ipxe.efi', 'grubx64.efi'];

describe('the option-93 table', () => {
  it('names each architecture number once', () => {
    const codes = CLIENT_ARCHES.flatMap((a) => a.codes);
    expect(codes).toEqual([0, 6, 7, 9, 16]);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(CLIENT_ARCHES.map((a) => a.tag)).size).toBe(CLIENT_ARCHES.length);
  });
});

describe('archBootFiles', () => {
  it("'auto': BIOS chainloads undionly.kpxe, x86-64 UEFI ipxe.efi over TFTP, UEFI HTTP boot ipxe.efi by URL", () => {
    expect(archBootFiles('auto', ALL_LOADERS, 'http://10.42.0.1')).toEqual([
      { tag: 'arch-bios', codes: [0], over: 'tftp', file: 'undionly.kpxe' },
      { tag: 'arch-efi-x64', codes: [7, 9], over: 'tftp', file: 'ipxe.efi' },
      { tag: 'arch-efi-x64-http', codes: [16], over: 'http', file: 'http://10.42.0.1/ipxe.efi' },
    ]);
  });

  it("'pxelinux': BIOS gets pxelinux.0, x86-64 UEFI GRUB, and nothing goes by HTTP", () => {
    expect(archBootFiles('pxelinux', ALL_LOADERS, 'http://10.42.0.1')).toEqual([
      { tag: 'arch-bios', codes: [0], over: 'tftp', file: 'pxelinux.0' },
      { tag: 'arch-efi-x64', codes: [7, 9], over: 'tftp', file: 'grubx64.efi' },
    ]);
  });

  it("'chainload': the same files as 'auto'", () => {
    expect(archBootFiles('chainload', ALL_LOADERS, 'http://10.42.0.1')).toEqual(
      archBootFiles('auto', ALL_LOADERS, 'http://10.42.0.1'),
    );
  });

  it('leaves out an architecture whose loader the job does not serve', () => {
    expect(archBootFiles('auto', ['pxelinux.0', 'undionly.kpxe'], 'http://10.42.0.1')).toEqual([
      { tag: 'arch-bios', codes: [0], over: 'tftp', file: 'undionly.kpxe' },
    ]);
    expect(archBootFiles('auto', ['vmlinuz'], 'http://10.42.0.1')).toEqual([]);
  });
});
