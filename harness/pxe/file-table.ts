/**
 * The files a job's PXE server may serve, and nothing else: each served name
 * maps to a file on disk or to generated content. Lookups never touch the
 * file system by the requested name, so no request can leave the table.
 */
import { constants } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import type { FileRole, ServedFile } from '../core/boot.js';

export type { ServedFile };

export type FileTable = readonly ServedFile[];

/** The entry for a requested name, e.g. '/pxelinux.cfg/01-52-54-00-..' or 'linux' (see `normalizeRequest`). */
export function lookup<T extends { name: string }>(entries: readonly T[], requested: string): T | undefined {
  const name = normalizeRequest(requested);
  if (name === undefined) return undefined;
  return entries.find((file) => file.name === name);
}

/**
 * The canonical form of a requested name: no leading slashes, no query, no
 * '.' segments. Names with '..' segments, NUL bytes or backslashes are refused
 * (undefined) rather than resolved.
 */
export function normalizeRequest(requested: string): string | undefined {
  const withoutQuery = requested.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(withoutQuery);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return undefined;
  return segments.join('/');
}

/**
 * A table entry opened for serving: its bytes come from a file descriptor
 * opened once, when the server starts, so later changes to the file system
 * (a path swapped for a symlink) cannot change what is served.
 */
export type OpenedFile = {
  name: string;
  role: FileRole;
  size: number;
  /** Up to `length` bytes from `position`; fewer at the end of the file. */
  read(position: number, length: number): Promise<Buffer>;
  /** Fills `buffer` from `position`; the number of bytes put in it (fewer at the end of the file). */
  readInto(buffer: Buffer, position: number): Promise<number>;
};

export type OpenedTable = { files: readonly OpenedFile[]; close(): Promise<void> };

export class FileTableError extends Error {}

/** For tests: a step run between a path's check and its opening, where a race would strike. */
export type TableHooks = { betweenCheckAndOpen?: (real: string) => Promise<void> };

/**
 * Opens every file of the table. The rule for paths: a path may be or pass
 * through symlinks, but what it finally names must be a regular file inside
 * one of `roots` (compared after resolving the roots' own symlinks). So a
 * table entry that is a symlink leading out of the allowed roots (to
 * /etc/shadow, say) is refused, and the server does not start, rather than
 * serving it. The resolved file is opened with O_NOFOLLOW and checked again
 * through its descriptor: the opened file must be the one checked (same
 * device and inode) and the kernel's own name for it must be inside the
 * roots, so a directory on the path swapped for a symlink between the check
 * and the open is refused rather than followed.
 */
export async function openTable(
  table: FileTable,
  roots: readonly string[],
  hooks: TableHooks = {},
): Promise<OpenedTable> {
  const realRoots = await Promise.all(roots.map(async (root) => ensureSlash(await realpath(root))));
  const handles: FileHandle[] = [];
  const files: OpenedFile[] = [];
  try {
    for (const entry of table) {
      if ('content' in entry) {
        const bytes = Buffer.from(entry.content, entry.encoding ?? 'utf8');
        files.push({
          name: entry.name,
          role: entry.role,
          size: bytes.length,
          read: async (position, length) => bytes.subarray(position, position + length),
          readInto: async (buffer, position) => bytes.copy(buffer, 0, position),
        });
        continue;
      }
      const { handle, size } = await openInRoots(entry, roots, realRoots, hooks, handles);
      files.push(withAppended({ name: entry.name, role: entry.role, size, ...reader(handle, size) }, entry.append));
    }
  } catch (error) {
    await Promise.all(handles.map((h) => h.close()));
    throw error;
  }
  return { files, close: async () => void (await Promise.all(handles.map((h) => h.close()))) };
}

/** Reads of an open file of `size` bytes (fewer at its end). */
function reader(handle: FileHandle, size: number): Pick<OpenedFile, 'read' | 'readInto'> {
  const readInto = async (buffer: Buffer, position: number) => {
    const wanted = Math.max(0, Math.min(buffer.length, size - position));
    let done = 0;
    while (done < wanted) {
      const { bytesRead } = await handle.read(buffer, done, wanted - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  };
  return {
    readInto,
    read: async (position, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
      return buffer.subarray(0, await readInto(buffer, position));
    },
  };
}

/** `file` followed by the bytes of `append` (base64), read across the seam as one file. */
function withAppended(file: OpenedFile, append: string | undefined): OpenedFile {
  if (!append) return file;
  const extra = Buffer.from(append, 'base64');
  const own = file.size;
  const readInto = async (buffer: Buffer, position: number) => {
    const head =
      position < own ? await file.readInto(buffer.subarray(0, Math.min(buffer.length, own - position)), position) : 0;
    const from = Math.max(0, position + head - own);
    return head + extra.copy(buffer, head, from, from + (buffer.length - head));
  };
  return {
    ...file,
    size: own + extra.length,
    readInto,
    read: async (position, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, own + extra.length - position)));
      return buffer.subarray(0, await readInto(buffer, position));
    },
  };
}

/** Opens one path entry by the rule of `openTable`; the handle is added to `handles` as soon as it is open. */
async function openInRoots(
  entry: { name: string; path: string },
  roots: readonly string[],
  realRoots: readonly string[],
  hooks: TableHooks,
  handles: FileHandle[],
): Promise<{ handle: FileHandle; size: number }> {
  const what = `table entry '${entry.name}'`;
  let real: string;
  try {
    real = await realpath(entry.path);
  } catch (error) {
    throw new FileTableError(`${what}: ${entry.path} cannot be resolved: ${(error as Error).message}`);
  }
  const inRoots = (path: string) => realRoots.some((root) => path.startsWith(root));
  if (!inRoots(real))
    throw new FileTableError(
      `${what}: ${entry.path} resolves to ${real}, outside the allowed roots (${roots.join(', ')})`,
    );
  const checked = await stat(real);
  await hooks.betweenCheckAndOpen?.(real);
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  handles.push(handle);
  const info = await handle.stat();
  if (!info.isFile()) throw new FileTableError(`${what}: ${real} is not a regular file`);
  // The kernel's name for what was opened: a directory swapped for a symlink after the check shows here.
  const opened = await readlink(`/proc/self/fd/${handle.fd}`);
  if (info.dev !== checked.dev || info.ino !== checked.ino || !inRoots(opened))
    throw new FileTableError(
      `${what}: ${real} changed between its check and its opening (opened ${opened}); make the image directories writable only by the harness`,
    );
  return { handle, size: info.size };
}

/** The opened entry for a requested name. */
export function lookupOpened(table: OpenedTable, requested: string): OpenedFile | undefined {
  return lookup(table.files, requested);
}

function ensureSlash(path: string): string {
  return path.endsWith('/') ? path : `${path}/`;
}
