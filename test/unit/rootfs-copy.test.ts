import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ListingEntry,
  listingDigest,
  listingLine,
  majorMinor,
  tarCompressionOf,
  unpackArguments,
} from '../../harness/images/rootfs-copy.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const entries: ListingEntry[] = [
  { path: 'usr/bin/passwd', type: 'file', mode: 0o4755, uid: 0, gid: 0, size: 5, sha256: sha('hello') },
  { path: '.', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: 'bin', type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: 'usr/bin' },
  { path: 'dev/null', type: 'chardev', mode: 0o666, uid: 0, gid: 0, size: 0, device: [1, 3] },
  { path: 'home/a b\n"c"', type: 'dir', mode: 0o700, uid: 1000, gid: 1000, size: 0 },
];

describe('listingLine', () => {
  it('writes type, mode, owner, size, content hash, device and the path as JSON', () => {
    expect(entries.map(listingLine)).toEqual([
      `f 4755 0 0 5 ${sha('hello')} - "usr/bin/passwd"`,
      'd 0755 0 0 0 - - "."',
      'l 0777 0 0 0 - - "bin" "usr/bin"',
      'c 0666 0 0 0 - 1:3 "dev/null"',
      'd 0700 1000 1000 0 - - "home/a b\\n\\"c\\""',
    ]);
  });
});

describe('listingDigest', () => {
  it('hashes the lines sorted by path, and counts entries and bytes of regular files', () => {
    const expected = sha(
      [entries[1], entries[2], entries[3], entries[4], entries[0]].map((e) => `${listingLine(e!)}\n`).join(''),
    );
    expect(listingDigest(entries)).toEqual({ sha256: expected, bytes: 5, entries: 5 });
    expect(listingDigest([...entries].reverse()).sha256).toBe(expected);
  });

  it('changes with a mode, an owner, a symlink target or a byte of content', () => {
    const base = listingDigest(entries).sha256;
    const changed = (i: number, change: Partial<ListingEntry>) =>
      listingDigest(entries.map((e, j) => (j === i ? { ...e, ...change } : e))).sha256;
    expect(changed(0, { mode: 0o755 })).not.toBe(base);
    expect(changed(0, { gid: 42 })).not.toBe(base);
    expect(changed(2, { target: 'usr/sbin' })).not.toBe(base);
    expect(changed(0, { sha256: sha('hellp') })).not.toBe(base);
    expect(changed(3, { device: [1, 5] })).not.toBe(base);
  });
});

describe('tarballs and devices', () => {
  it('knows a tarball by its name', () => {
    expect(
      ['a.tar', 'a.tar.gz', 'a.tgz', 'a.tar.xz', 'a.txz', 'a.tar.zst', 'a.tzst', 'a.zip', 'a.gz', 'tar'].map(
        tarCompressionOf,
      ),
    ).toEqual(['none', 'gzip', 'gzip', 'xz', 'xz', 'zstd', 'zstd', undefined, undefined, undefined]);
  });

  it('unpacks with owners by number, modes, extended attributes and ACLs', () => {
    expect(unpackArguments({ path: '/srv/root.tar.zst', compression: 'zstd' }, '/var/tmp/j/root')).toEqual([
      '--extract',
      '--zstd',
      '--file=/srv/root.tar.zst',
      '--directory=/var/tmp/j/root',
      '--numeric-owner',
      '--same-owner',
      '--preserve-permissions',
      '--xattrs',
      '--xattrs-include=*',
      '--acls',
    ]);
  });

  it("splits Linux's dev_t into major and minor", () => {
    expect(majorMinor(0x0103)).toEqual([1, 3]);
    expect(majorMinor(0x0880)).toEqual([8, 128]);
    // major 259, minor 1048575 (the large encoding).
    expect(majorMinor(Number((259n & 0xfffn) << 8n) + 0xff + Number(0xfffn << 20n))).toEqual([259, 0xfffff]);
  });
});
