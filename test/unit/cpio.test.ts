import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpioArchive, type CpioEntry } from '../../harness/images/cpio.js';

type ParsedEntry = {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  devmajor: number;
  devminor: number;
  rdevmajor: number;
  rdevminor: number;
  check: number;
  data: Buffer;
};

const FIELDS = [
  'ino',
  'mode',
  'uid',
  'gid',
  'nlink',
  'mtime',
  'filesize',
  'devmajor',
  'devminor',
  'rdevmajor',
  'rdevminor',
  'namesize',
  'check',
] as const;

/** An independent reader for the newc format, strict about magic, hex fields and alignment. */
function parseNewc(archive: Buffer): { entries: ParsedEntry[]; end: number } {
  const entries: ParsedEntry[] = [];
  let offset = 0;
  for (;;) {
    expect(offset % 4, `header at ${offset} is 4-byte aligned`).toBe(0);
    expect(archive.toString('ascii', offset, offset + 6), `magic at ${offset}`).toBe('070701');
    const values: Record<string, number> = {};
    FIELDS.forEach((field, i) => {
      const hex = archive.toString('ascii', offset + 6 + i * 8, offset + 14 + i * 8);
      expect(hex, `${field} at ${offset}`).toMatch(/^[0-9a-f]{8}$/);
      values[field] = parseInt(hex, 16);
    });
    const nameStart = offset + 110;
    const namesize = values.namesize!;
    expect(archive[nameStart + namesize - 1], 'name ends in NUL').toBe(0);
    const name = archive.toString('utf8', nameStart, nameStart + namesize - 1);
    let cursor = nameStart + namesize;
    const namePadding = (4 - (cursor % 4)) % 4;
    expect(
      archive.subarray(cursor, cursor + namePadding).every((b) => b === 0),
      'name padding is NUL',
    ).toBe(true);
    cursor += namePadding;
    const data = archive.subarray(cursor, cursor + values.filesize!);
    expect(data.length, `data of ${name} is complete`).toBe(values.filesize);
    cursor += values.filesize!;
    const dataPadding = (4 - (cursor % 4)) % 4;
    expect(
      archive.subarray(cursor, cursor + dataPadding).every((b) => b === 0),
      'data padding is NUL',
    ).toBe(true);
    cursor += dataPadding;
    offset = cursor;
    if (name === 'TRAILER!!!') return { entries, end: offset };
    entries.push({
      name,
      ino: values.ino!,
      mode: values.mode!,
      uid: values.uid!,
      gid: values.gid!,
      nlink: values.nlink!,
      mtime: values.mtime!,
      devmajor: values.devmajor!,
      devminor: values.devminor!,
      rdevmajor: values.rdevmajor!,
      rdevminor: values.rdevminor!,
      check: values.check!,
      data: Buffer.from(data),
    });
    expect(offset, 'no TRAILER!!! before the end of the archive').toBeLessThan(archive.length);
  }
}

const busybox = Buffer.from('\x7fELF fake busybox binary\x00\x01\x02');
const init = Buffer.from('#!/bin/sh\nexec /bin/sh\n');

const entries: CpioEntry[] = [
  { path: 'bin', type: 'dir' },
  { path: '/dev', type: 'dir', mode: 0o700 },
  { path: 'bin/busybox', type: 'file', data: busybox, mode: 0o755 },
  { path: 'bin/sh', type: 'symlink', target: 'busybox' },
  { path: 'dev/console', type: 'chardev', major: 5, minor: 1, mode: 0o600 },
  { path: 'dev/ttyS0', type: 'chardev', major: 4, minor: 64 },
  { path: 'init', type: 'file', data: init },
  { path: 'empty', type: 'file', data: Buffer.alloc(0) },
  { path: 'etc/motd-with-ünïcode', type: 'file', data: Buffer.from('hi\n') },
];

describe('cpioArchive', () => {
  const archive = cpioArchive(entries);
  const { entries: parsed, end } = parseNewc(archive);

  it('pads the archive to a multiple of 512 bytes with NULs after the trailer', () => {
    expect(archive.length % 512).toBe(0);
    expect(archive.length).toBeGreaterThanOrEqual(end);
    expect(archive.length - end).toBeLessThan(512);
    expect(archive.subarray(end).every((b) => b === 0)).toBe(true);
  });

  it('holds the entries in order, without leading slashes', () => {
    expect(parsed.map((e) => e.name)).toEqual([
      'bin',
      'dev',
      'bin/busybox',
      'bin/sh',
      'dev/console',
      'dev/ttyS0',
      'init',
      'empty',
      'etc/motd-with-ünïcode',
    ]);
  });

  it('gives type bits and permissions, with defaults 755 for dirs, 777 for symlinks and 644 otherwise', () => {
    expect(parsed.map((e) => e.mode.toString(8))).toEqual([
      '40755',
      '40700',
      '100755',
      '120777',
      '20600',
      '20644',
      '100644',
      '100644',
      '100644',
    ]);
  });

  it('stores the file data exactly', () => {
    expect(parsed[2]!.data.equals(busybox)).toBe(true);
    expect(parsed[6]!.data.toString()).toBe('#!/bin/sh\nexec /bin/sh\n');
    expect(parsed[7]!.data.length).toBe(0);
    expect(parsed[8]!.data.toString()).toBe('hi\n');
  });

  it('stores a symlink target as its data', () => {
    expect(parsed[3]!.data.toString()).toBe('busybox');
  });

  it('stores the device numbers of a chardev in rdevmajor/rdevminor', () => {
    expect(parsed[4]).toMatchObject({ rdevmajor: 5, rdevminor: 1, devmajor: 0, devminor: 0, data: Buffer.alloc(0) });
    expect(parsed[5]).toMatchObject({ rdevmajor: 4, rdevminor: 64 });
    expect(parsed.filter((e) => e.mode >> 12 !== 0o02).every((e) => e.rdevmajor === 0 && e.rdevminor === 0)).toBe(true);
  });

  it('gives distinct non-zero inodes, root ownership, fixed mtime, nlink 2 for dirs and 1 otherwise', () => {
    expect(new Set(parsed.map((e) => e.ino)).size).toBe(parsed.length);
    expect(parsed.every((e) => e.ino > 0)).toBe(true);
    expect(parsed.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0 && e.check === 0)).toBe(true);
    expect(parsed.map((e) => e.nlink)).toEqual([2, 2, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('is deterministic', () => {
    expect(cpioArchive(entries).equals(archive)).toBe(true);
  });

  it('writes just a trailer for no entries', () => {
    const empty = cpioArchive([]);
    expect(empty.length).toBe(512);
    expect(parseNewc(empty).entries).toEqual([]);
  });

  it('aligns every name length modulo 4', () => {
    // Names of 1..8 characters exercise every padding length of header + name.
    const many: CpioEntry[] = Array.from({ length: 8 }, (_, i) => ({
      path: 'abcdefgh'.slice(0, i + 1),
      type: 'file',
      data: Buffer.alloc(i, 0x41),
    }));
    const result = parseNewc(cpioArchive(many)).entries;
    expect(result.map((e) => e.name)).toEqual(['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg', 'abcdefgh']);
    expect(result.map((e) => e.data.toString())).toEqual(['', 'A', 'AA', 'AAA', 'AAAA', 'AAAAA', 'AAAAAA', 'AAAAAAA']);
  });

  const hasCpio = spawnSync('which', ['cpio']).status === 0;

  it.skipIf(!hasCpio)('is listed by cpio -t with the same names, modes and link', () => {
    const list = spawnSync('cpio', ['-t'], { input: archive, encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout.split('\n').filter(Boolean)).toEqual(parsed.map((e) => e.name));
    const verbose = spawnSync('cpio', ['-tv'], { input: archive, encoding: 'utf8' });
    expect(verbose.status, verbose.stderr).toBe(0);
    const lines = verbose.stdout.split('\n').filter(Boolean);
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual([
      'drwxr-xr-x',
      'drwx------',
      '-rwxr-xr-x',
      'lrwxrwxrwx',
      'crw-------',
      'crw-r--r--',
      '-rw-r--r--',
      '-rw-r--r--',
      '-rw-r--r--',
    ]);
    expect(lines[3]).toMatch(/ bin\/sh -> busybox$/);
  });
});
