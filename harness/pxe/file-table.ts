/**
 * The files a job's PXE server may serve, and nothing else: each served name
 * maps to a file on disk or to generated content. Lookups never touch the
 * file system by the requested name, so no request can leave the table.
 */
import type { FileRole } from '../console/patterns.js';

export type ServedFile =
  | { name: string; role: FileRole; path: string }
  | { name: string; role: FileRole; content: string };

export type FileTable = readonly ServedFile[];

/** The table entry for a requested name, e.g. '/pxelinux.cfg/01-52-54-00-..' or 'linux'. */
export function lookup(table: FileTable, requested: string): ServedFile | undefined {
  const name = normalizeRequest(requested);
  if (name === undefined) return undefined;
  return table.find((file) => file.name === name);
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
