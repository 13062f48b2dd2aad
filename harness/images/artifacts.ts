/**
 * A job's own files (the kernel, initrd and device tree a pipeline has just
 * built, extra files served by name): each checked before anything starts,
 * then pinned at job start (copied into the job, hashing as it copies), so a
 * file the next build rewrites mid-boot changes nothing, and every report can
 * say which build was booted (size and SHA-256).
 *
 * Reference: open(2) (O_NOFOLLOW is not used: a path the user names may be a
 * link to the file), copy_file_range(2) is not used either, so the copy and
 * its digest come from one read of the source.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileRole } from '../core/boot.js';
import { UsageError } from '../core/errors.js';

/** What an artifact is to the boot; 'file' is an extra file served by its name. */
export type ArtifactRole = 'kernel' | 'initrd' | 'dtb' | 'file';

/** An artifact as asked for: where the user's file is, the name it is served under, and where it came from. */
export type ArtifactSource = {
  role: ArtifactRole;
  /** The name the board asks for (TFTP/HTTP). */
  name: string;
  /** The user's file, as given (absolute after `checkArtifact`). */
  path: string;
  /** Who asked for it, for messages: '--kernel', "image file images/x.ts, field 'artifacts.kernel'". */
  origin: string;
};

/** An artifact the job holds its own copy of. */
export type PinnedArtifact = ArtifactSource & {
  /** The job's copy, served instead of the user's file. */
  pinned: string;
  bytes: number;
  sha256: string;
};

/** The served file role of an artifact (milestones wait for 'kernel' and 'initrd'). */
export function fileRoleOf(role: ArtifactRole): FileRole {
  return role === 'kernel' || role === 'initrd' ? role : 'other';
}

/**
 * Checks that `path` is a readable regular file; a UsageError naming the
 * option and what is wrong otherwise. Returns the absolute path.
 */
export function checkArtifact(origin: string, path: string): string {
  const absolute = resolve(path);
  let kind: string;
  try {
    const stats = statSync(absolute);
    kind = stats.isFile() ? 'file' : stats.isDirectory() ? 'a directory' : 'not a regular file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`${origin} ${path}: no such file`);
    throw new UsageError(`${origin} ${path}: cannot be read (${code ?? String(error)})`);
  }
  if (kind !== 'file') throw new UsageError(`${origin} ${path}: is ${kind}; give the path of a regular file`);
  try {
    accessSync(absolute, constants.R_OK);
  } catch {
    throw new UsageError(`${origin} ${path}: is not readable by this user; fix its permissions`);
  }
  return absolute;
}

/** Served names must be plain relative names the PXE server can serve: 'boot/x.cfg', not '../x' or '/x'. */
export function checkServedName(origin: string, name: string): string {
  const ok = /^[A-Za-z0-9._+-][A-Za-z0-9._+/-]*$/.test(name) && !name.split('/').some((part) => part === '..' || !part);
  if (!ok)
    throw new UsageError(
      `${origin}: served name '${name}' is not valid; use letters, digits, '.', '_', '-', '+' and '/' between parts`,
    );
  return name;
}

/** Copies each artifact into `dir` (one read of the source gives the copy and its SHA-256). */
export async function pinArtifacts(sources: readonly ArtifactSource[], dir: string): Promise<PinnedArtifact[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return Promise.all(sources.map((source, index) => pinArtifact(source, dir, index)));
}

async function pinArtifact(source: ArtifactSource, dir: string, index: number): Promise<PinnedArtifact> {
  const path = checkArtifact(source.origin, source.path);
  const pinned = resolve(dir, `${String(index).padStart(2, '0')}-${source.role}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(path), tap, createWriteStream(pinned, { mode: 0o600 }));
  } catch (error) {
    throw new UsageError(`${source.origin} ${source.path}: could not be read: ${(error as Error).message}`);
  }
  return { ...source, path, pinned, bytes, sha256: hash.digest('hex') };
}

/** One line per artifact for reports: "kernel bzImage 9.1 MiB sha256:ab12...". */
export function describeArtifact(artifact: PinnedArtifact): string {
  return `${artifact.role} ${artifact.name} (${artifact.path}) ${artifact.bytes} bytes sha256:${artifact.sha256}`;
}
