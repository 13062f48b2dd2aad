/**
 * Dynamically linked programs from Debian packages, with everything they need
 * to run in an initramfs: the program, the dynamic loader and each shared
 * library (followed transitively), all taken from the unpacked Debian packages
 * of the program's dependencies, never from the host's /lib.
 *
 * Tested against: Debian 12 amd64 (dropbear-bin 2022.83, openssh-sftp-server 9.2p1, libc6 2.36).
 * Reference: ld.so(8) (interpreter, library search), deb-control(5) (Depends).
 */
import { lstat, mkdir, readFile, readlink, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheDir } from '../core/paths.js';
import { packageRecord, unpackPackage, type UnpackedPackage } from './apt-packages.js';
import { elfDependencies } from './elf.js';

/** Where libraries live in Debian 12 amd64 packages, and where they go in the initramfs. */
const LIBRARY_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'lib', 'usr/lib'];
export const TARGET_LIBRARY_DIR = 'lib/x86_64-linux-gnu';

export type ProgramFile = { path: string; data: Buffer; mode: number };
export type ProgramSet = {
  files: ProgramFile[];
  packages: UnpackedPackage[];
  libraryDirs: string[];
  interpreter: string;
};

/**
 * The files for `programs` (package name and path inside it), their loader and
 * libraries. Libraries are looked up in the programs' packages, then in their
 * dependencies, level by level, unpacking only what is needed.
 */
export async function programsWithLibraries(programs: readonly Program[]): Promise<ProgramSet> {
  const unpacked = new Map<string, UnpackedPackage>();
  const unpack = async (name: string) => {
    let pkg = unpacked.get(name);
    if (!pkg) {
      pkg = await unpackPackage(name);
      unpacked.set(name, pkg);
    }
    return pkg;
  };
  const files: ProgramFile[] = [];
  const wanted: string[] = [];
  let interpreter: string | undefined;
  for (const program of programs) {
    const pkg = await unpack(program.pkg);
    const data = await readFile(await realpathIn(pkg.root, program.path));
    const deps = elfDependencies(data);
    interpreter ??= deps.interpreter;
    wanted.push(...deps.needed);
    files.push({ path: program.as ?? program.path, data, mode: 0o755 });
  }
  if (!interpreter) throw new Error('none of the programs names a dynamic loader (PT_INTERP)');

  // Breadth-first over the Depends of the packages seen so far, until every library is found.
  const found = new Map<string, string>();
  const queue = [...new Set(programs.map((p) => p.pkg))];
  const visited = new Set(queue);
  const loaderName = interpreter.split('/').pop()!;
  wanted.push(loaderName);
  const missing = () => wanted.filter((lib) => !found.has(lib));
  while (missing().length > 0) {
    const name = queue.shift();
    if (name === undefined)
      throw new Error(`libraries not found in the programs' Debian dependencies: ${missing().join(', ')}`);
    const pkg = await unpack(name);
    for (const lib of missing()) {
      const path = await findLibrary(pkg.root, lib);
      if (!path) continue;
      found.set(lib, path);
      const data = await readFile(path);
      if (lib !== loaderName) wanted.push(...elfDependencies(data).needed);
    }
    for (const dep of (await packageRecord(name)).depends) {
      if (!visited.has(dep)) {
        visited.add(dep);
        queue.push(dep);
      }
    }
  }
  for (const [lib, path] of found) {
    const data = await readFile(path);
    files.push({
      path: lib === loaderName ? interpreter.replace(/^\//, '') : `${TARGET_LIBRARY_DIR}/${lib}`,
      data,
      mode: 0o755,
    });
  }
  const libraryDirs = [...new Set([...found.values()].map((p) => p.slice(0, p.lastIndexOf('/'))))];
  return { files, packages: [...unpacked.values()], libraryDirs, interpreter: found.get(loaderName)! };
}

type Program = { pkg: string; path: string; as?: string };

/**
 * The packages programsWithLibraries unpacks for `programs` (theirs and those
 * holding their libraries), without reading a program or a library: the list
 * found last time is kept in `file` with each package's version, and used
 * while apt still names those versions (a new version may need other
 * libraries: then they are looked for again).
 */
export async function programPackages(
  programs: readonly Program[],
  file = join(cacheDir(), 'program-packages.json'),
): Promise<UnpackedPackage[]> {
  const key = JSON.stringify(programs);
  const saved = (await readSaved(file))[key];
  if (saved) {
    const versions = await Promise.all(saved.map(async (p) => (await packageRecord(p.name)).version));
    if (versions.every((version, i) => version === saved[i]!.version))
      return Promise.all(saved.map((p) => unpackPackage(p.name)));
  }
  const { packages } = await programsWithLibraries(programs);
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}`;
  const list = packages.map(({ name, version }) => ({ name, version }));
  await writeFile(partial, JSON.stringify({ ...(await readSaved(file)), [key]: list }));
  await rename(partial, file);
  return packages;
}

type Saved = Record<string, { name: string; version: string }[]>;

async function readSaved(file: string): Promise<Saved> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Saved;
  } catch {
    return {};
  }
}

async function findLibrary(root: string, soname: string): Promise<string | undefined> {
  for (const dir of LIBRARY_DIRS) {
    const real = await realpathIn(root, join(dir, soname)).catch(() => undefined);
    if (
      real &&
      (await stat(real).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      return real;
  }
  return undefined;
}

/** The real path of `path` inside an unpacked package, following relative symlinks (absolute ones point into the package too). */
async function realpathIn(root: string, path: string): Promise<string> {
  let current = join(root, path);
  for (let hops = 0; hops < 10; hops++) {
    const info = await lstat(current);
    if (!info.isSymbolicLink()) return realpath(current);
    const target = await readlink(current);
    current = target.startsWith('/') ? join(root, target) : join(current, '..', target);
  }
  throw new Error(`too many symlinks at ${path}`);
}
