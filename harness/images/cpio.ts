/**
 * A writer for the "newc" cpio format that the Linux kernel unpacks as an
 * initramfs. Pure: entries in, bytes out.
 *
 * Reference: Linux Documentation/driver-api/early-userspace/buffer-format.rst; cpio(5) "New ASCII Format".
 */
export type CpioEntry =
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'file'; data: Buffer; mode?: number }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'chardev'; major: number; minor: number; mode?: number };

const TYPE_BITS = { dir: 0o040000, file: 0o100000, symlink: 0o120000, chardev: 0o020000 } as const;

export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let inode = 1;
  for (const entry of [...entries, { path: 'TRAILER!!!', type: 'file', data: Buffer.alloc(0), mode: 0 } as CpioEntry]) {
    const data =
      entry.type === 'file' ? entry.data : entry.type === 'symlink' ? Buffer.from(entry.target) : Buffer.alloc(0);
    const defaultMode = entry.type === 'dir' ? 0o755 : entry.type === 'symlink' ? 0o777 : 0o644;
    const mode = TYPE_BITS[entry.type] | ('mode' in entry && entry.mode !== undefined ? entry.mode : defaultMode);
    const trailer = entry.path === 'TRAILER!!!';
    const name = Buffer.from(`${entry.path.replace(/^\/+/, '')}\0`);
    const fields = [
      trailer ? 0 : inode++, // ino
      trailer ? 0 : mode,
      0, // uid
      0, // gid
      entry.type === 'dir' ? 2 : 1, // nlink
      0, // mtime: fixed, so the same inputs give the same bytes
      data.length,
      0, // devmajor
      0, // devminor
      entry.type === 'chardev' ? entry.major : 0,
      entry.type === 'chardev' ? entry.minor : 0,
      name.length,
      0, // check
    ];
    const header = Buffer.from(`070701${fields.map((n) => n.toString(16).padStart(8, '0')).join('')}`, 'ascii');
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  }
  const archive = Buffer.concat(parts);
  return Buffer.concat([archive, pad(archive.length, 512)]);
}

function pad(length: number, to = 4): Buffer {
  return Buffer.alloc((to - (length % to)) % to);
}
