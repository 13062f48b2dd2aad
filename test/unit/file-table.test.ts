import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookup, normalizeRequest, openTable, type FileTable, type ServedFile } from '../../harness/pxe/file-table.js';

const table: FileTable = [
  { name: 'pxelinux.0', role: 'bootloader', path: '/srv/loaders/pxelinux.0' },
  { name: 'pxelinux.cfg/01-52-54-00-a1-00-01', role: 'boot-config', content: 'DEFAULT hil\n' },
  { name: 'boot.ipxe', role: 'boot-config', content: '#!ipxe\nboot\n' },
  { name: 'linux', role: 'kernel', path: '/srv/images/busybox/linux' },
  { name: 'initrd.gz', role: 'initrd', path: '/srv/images/busybox/initrd.gz' },
  { name: 'dir with space/file', role: 'other', content: 'x' },
];

describe('normalizeRequest', () => {
  it.each([
    ['linux', 'linux'],
    ['/linux', 'linux'],
    ['///linux', 'linux'],
    ['./linux', 'linux'],
    ['/./pxelinux.cfg/./01-aa', 'pxelinux.cfg/01-aa'],
    ['pxelinux.cfg//01-aa', 'pxelinux.cfg/01-aa'],
    ['linux/', 'linux'],
    ['/boot.ipxe?mac=52:54:00:a1:00:01&x=1', 'boot.ipxe'],
    ['/boot.ipxe?', 'boot.ipxe'],
    ['/dir%20with%20space/file', 'dir with space/file'],
    ['/%6Cinux', 'linux'],
    ['/a%2fb', 'a/b'],
    ['', ''],
    ['/', ''],
    ['...', '...'],
    ['..linux', '..linux'],
  ])('normalizes %j to %j', (requested, expected) => {
    expect(normalizeRequest(requested)).toBe(expected);
  });

  it.each([
    '..',
    '../etc/passwd',
    '/../etc/passwd',
    'pxelinux.cfg/../../etc/passwd',
    'a/..',
    './..',
    '%2e%2e/etc/passwd',
    '%2E%2E/etc/passwd',
    '/a/%2e%2e/%2e%2e/etc/passwd',
    '.%2e/etc/passwd',
    'a%2f..%2fb',
    'linux\0',
    'linux%00',
    '..\\windows',
    'pxelinux.cfg\\default',
    'pxelinux.cfg%5cdefault',
    '%zz',
    '%',
    'linux%e0%a4%a',
  ])('refuses %j', (requested) => {
    expect(normalizeRequest(requested)).toBeUndefined();
  });
});

describe('lookup', () => {
  it('finds the entry for a requested name in any accepted form', () => {
    expect(lookup(table, 'linux')).toBe(table[3]);
    expect(lookup(table, '/linux')).toBe(table[3]);
    expect(lookup(table, '/pxelinux.cfg/01-52-54-00-a1-00-01')).toBe(table[1]);
    expect(lookup(table, '/boot.ipxe?mac=52%3A54')).toBe(table[2]);
    expect(lookup(table, '/dir%20with%20space/file')).toBe(table[5]);
  });

  it('finds nothing for names that are not in the table', () => {
    expect(lookup(table, 'vmlinuz')).toBeUndefined();
    expect(lookup(table, 'pxelinux.cfg/default')).toBeUndefined();
    expect(lookup(table, 'LINUX')).toBeUndefined();
    expect(lookup(table, '')).toBeUndefined();
    expect(lookup(table, '/')).toBeUndefined();
    expect(lookup(table, '/srv/images/busybox/linux')).toBeUndefined();
  });

  it('finds nothing through a refused name, even when it would resolve to a table entry', () => {
    expect(lookup(table, 'pxelinux.cfg/../linux')).toBeUndefined();
    expect(lookup(table, '%2e%2e/linux')).toBeUndefined();
    expect(lookup(table, 'linux%00')).toBeUndefined();
    expect(lookup(table, '\\linux')).toBeUndefined();
  });

  it('returns the very entry of the table that has the requested name, and no other', () => {
    const expected: [string, ServedFile | undefined][] = [
      ['linux', table[3]],
      ['/initrd.gz', table[4]],
      ['x', undefined],
      ['../linux', undefined],
      ['/boot.ipxe?a=b', table[2]],
      ['%2e%2e', undefined],
      ['pxelinux.0', table[0]],
      ['/etc/passwd', undefined],
      ['', undefined],
      ['pxelinux', undefined],
      ['pxelinux.cfg', undefined],
      ['dir with space', undefined],
    ];
    for (const [requested, entry] of expected) expect(lookup(table, requested), requested).toBe(entry);
    expect(lookup([], 'linux')).toBeUndefined();
  });
});

describe('a table file with bytes appended', () => {
  it('serves the file, then the appended bytes, as one file, read across the seam in any chunks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-table-'));
    try {
      const own = Buffer.from('0123456789');
      const extra = Buffer.from('abcdef');
      writeFileSync(join(dir, 'initrd'), own);
      const opened = await openTable(
        [{ name: 'initrd', role: 'initrd', path: join(dir, 'initrd'), append: extra.toString('base64') }],
        [dir],
      );
      const file = opened.files[0]!;
      expect(file.size).toBe(16);
      for (const chunk of [1, 3, 7, 16, 100]) {
        const parts: Buffer[] = [];
        for (let position = 0; position < file.size; position += chunk) parts.push(await file.read(position, chunk));
        expect(Buffer.concat(parts).toString(), `chunks of ${chunk}`).toBe('0123456789abcdef');
      }
      expect((await file.read(8, 4)).toString()).toBe('89ab');
      expect((await file.read(12, 10)).toString()).toBe('cdef');
      expect((await file.read(16, 10)).length).toBe(0);
      await opened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
