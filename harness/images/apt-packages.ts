/**
 * Boot files from Debian's packages, by package name: `apt-get download` of
 * the candidate version, unpacked with `dpkg-deb -x` into a cache directory
 * outside the repository, and reused while that version stays the candidate.
 * Never a download from a web address.
 *
 * Tested against: apt 2.6 and dpkg 1.21 (Debian 12).
 * Reference: apt-get(8) (download), apt-cache(8) (show), dpkg-deb(1) (-x).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Deadline } from '../core/deadline.js';
import { run, runBounded } from '../core/process.js';
import { UsageError } from '../core/errors.js';
import { cacheDir } from '../core/paths.js';

/** apt-cache answers from local lists; a download may take a while on a slow mirror. */
const APT_TIMEOUT_MS = 60_000;
const DOWNLOAD_TIMEOUT_MS = 600_000;

export type UnpackedPackage = { name: string; version: string; root: string };

type PackageRecord = { version: string; depends: string[] };

/**
 * The candidate version and dependencies of a package, as apt sees them now.
 * apt-cache takes about a second a call where apt keeps no binary cache, so
 * answers are kept in the cache directory, valid while apt's package lists,
 * sources and preferences are unchanged.
 */
export async function packageRecord(name: string): Promise<PackageRecord> {
  const stamp = await aptStamp();
  const file = join(cacheDir(), 'apt-records.json');
  const known = await readRecords(file, stamp);
  const cached = known[name];
  if (cached) return cached;
  const record = await queryApt(name);
  await saveRecord(file, stamp, name, record);
  return record;
}

/** This process's writes of the records file, one at a time, so that each adds to what the one before wrote. */
let recordWrites: Promise<unknown> = Promise.resolve();

/**
 * Adds a record to the file: written whole under a name of its own (this
 * process, this write), then renamed over it, so that neither a concurrent
 * call nor another process preparing into the same cache finds its
 * temporary file taken or half-written. Two processes may each miss the
 * other's newest record; that is only a second question to apt later.
 */
function saveRecord(file: string, stamp: string, name: string, record: PackageRecord): Promise<void> {
  const write = recordWrites.then(async () => {
    await mkdir(cacheDir(), { recursive: true });
    const partial = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const records = { ...(await readRecords(file, stamp)), [name]: record };
      await writeFile(partial, JSON.stringify({ stamp, records }));
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true });
    }
  });
  recordWrites = write.catch(() => {});
  return write;
}

async function readRecords(file: string, stamp: string): Promise<Record<string, PackageRecord>> {
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { stamp: string; records: Record<string, PackageRecord> };
    return saved.stamp === stamp ? saved.records : {};
  } catch {
    return {};
  }
}

/** Changes whenever `apt-get update` runs or apt's sources or preferences change. */
async function aptStamp(): Promise<string> {
  const paths = [
    '/var/lib/apt/lists',
    '/etc/apt/sources.list',
    '/etc/apt/sources.list.d',
    '/etc/apt/preferences',
    '/etc/apt/preferences.d',
  ];
  const times = await Promise.all(
    paths.map((p) =>
      stat(p).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  return times.join(':');
}

async function queryApt(name: string): Promise<PackageRecord> {
  const result = await runBounded('apt-cache', ['show', '--no-all-versions', name], {
    deadline: Deadline.in(APT_TIMEOUT_MS, `apt-cache show ${name}`),
  });
  const version = /^Version: (.+)$/m.exec(result.stdout)?.[1];
  if (result.exitCode !== 0 || !version) {
    throw new UsageError(
      `Debian package '${name}' is not known to apt on this machine. Fix: run 'apt-get update' (and check that the package name is right for Debian 12).`,
    );
  }
  const dependsLine = /^Depends: (.+)$/m.exec(result.stdout)?.[1] ?? '';
  const depends = dependsLine
    .split(',')
    .map((d) => d.trim().split(/[\s|(]/)[0] ?? '')
    .filter(Boolean);
  return { version, depends };
}

/** The package a metapackage (such as linux-image-cloud-amd64) stands for: its first dependency matching `pattern`. */
export async function resolveMetapackage(name: string, pattern: RegExp): Promise<string> {
  const { depends } = await packageRecord(name);
  const target = depends.find((d) => pattern.test(d));
  if (!target)
    throw new UsageError(
      `Debian package '${name}' does not depend on a package matching ${pattern}; cannot tell which one it stands for.`,
    );
  return target;
}

/** Downloads and unpacks `name` (candidate version) into the cache, or returns the cached copy. */
export async function unpackPackage(name: string): Promise<UnpackedPackage> {
  const { version } = await packageRecord(name);
  const root = join(cacheDir(), 'packages', `${name}_${version.replace(/[:/]/g, '_')}`);
  if (existsSync(join(root, '.complete'))) return { name, version, root };

  await mkdir(join(cacheDir(), 'packages'), { recursive: true });
  const work = await mkdtemp(join(cacheDir(), 'packages', `.${name}-`));
  try {
    const download = await runBounded('apt-get', ['download', '-q', `${name}=${version}`], {
      cwd: work,
      deadline: Deadline.in(DOWNLOAD_TIMEOUT_MS, `apt-get download ${name}`),
    });
    const deb = (await readdir(work)).find((f) => f.endsWith('.deb'));
    if (download.exitCode !== 0 || !deb) {
      throw new UsageError(
        `could not download Debian package '${name}' (${version}): ${lastLine(download.stderr)}. Fix: check that apt can reach its package mirror, then run 'apt-get update'.`,
      );
    }
    const unpacked = join(work, 'root');
    await run('dpkg-deb', ['-x', join(work, deb), unpacked], { timeoutMs: DOWNLOAD_TIMEOUT_MS });
    await writeFile(join(unpacked, '.complete'), `${name} ${version}\n`);
    try {
      await rename(unpacked, root);
    } catch (error) {
      // Another job unpacked the same version meanwhile: use theirs.
      if (!existsSync(join(root, '.complete'))) throw error;
    }
    return { name, version, root };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('W:'))
      .pop() ?? 'no output'
  );
}
