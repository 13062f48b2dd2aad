/** `hil doctor`'s search for the NFS server's programs and its VFS back end, in folders made here. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findVfsFsal } from '../../harness/cli/doctor-nfs.js';
import { findProgram } from '../../harness/core/find-program.js';

const dir = mkdtempSync(join(tmpdir(), 'hil-doctor-nfs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the NFS server checks', () => {
  it('find a program in the first folder that has it executable', () => {
    for (const sub of ['a', 'b', 'c']) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, 'a', 'rpcbind'), '');
    writeFileSync(join(dir, 'b', 'rpcbind'), '#!/bin/sh\n');
    chmodSync(join(dir, 'b', 'rpcbind'), 0o755);
    expect(findProgram('rpcbind', [join(dir, 'a'), join(dir, 'b'), join(dir, 'c')])).toBe(join(dir, 'b', 'rpcbind'));
    expect(findProgram('ganesha.nfsd', [join(dir, 'a'), join(dir, 'b')])).toBeUndefined();
  });

  it("find ganesha's VFS back end in a multiarch folder or a plain one", () => {
    const multiarch = join(dir, 'lib1', 'aarch64-linux-gnu', 'ganesha');
    mkdirSync(multiarch, { recursive: true });
    writeFileSync(join(multiarch, 'libfsalvfs.so'), '');
    expect(findVfsFsal([join(dir, 'none'), join(dir, 'lib1')])).toBe(join(multiarch, 'libfsalvfs.so'));
    mkdirSync(join(dir, 'lib2', 'ganesha'), { recursive: true });
    writeFileSync(join(dir, 'lib2', 'ganesha', 'libfsalvfs.so'), '');
    expect(findVfsFsal([join(dir, 'lib2')])).toBe(join(dir, 'lib2', 'ganesha', 'libfsalvfs.so'));
    expect(findVfsFsal([join(dir, 'a')])).toBeUndefined();
  });
});
