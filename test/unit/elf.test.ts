import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { elfDependencies } from '../../harness/images/elf.js';

describe('elfDependencies', () => {
  it('reads the interpreter and needed libraries of a Debian 12 program', () => {
    // /bin/true (coreutils) links only against the C library.
    expect(elfDependencies(readFileSync('/bin/true'))).toEqual({
      interpreter: '/lib64/ld-linux-x86-64.so.2',
      needed: ['libc.so.6'],
    });
  });

  it('lists every needed library in the order of the dynamic section', () => {
    // socat (a run package, scripts/setup) links against OpenSSL and libwrap as well.
    expect(elfDependencies(readFileSync('/usr/bin/socat')).needed).toEqual([
      'libwrap.so.0',
      'libssl.so.3',
      'libcrypto.so.3',
      'libc.so.6',
    ]);
  });

  it('rejects what is not an ELF file', () => {
    expect(() => elfDependencies(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80)))).toThrow('not an ELF file');
  });
});
