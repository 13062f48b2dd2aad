/**
 * Imports a module file a user wrote (a target or an image file: .ts, .js or
 * .mjs, in any folder, with or without a package.json) and returns its exports.
 *
 * From the sources, the running loader (tsx, vitest) imports the file as it
 * is. From the build, plain Node loads no TypeScript: esbuild compiles the
 * file once into <cache>/modules/ and that module is imported. The file and
 * what it imports by relative path are bundled into it; its imports of
 * harness/ point at the build's modules (the very instances the command line
 * runs); packages resolve from the file's own folder, as Node would; and
 * `import.meta.url`, `dirname` and `filename` keep the original file's values.
 * A compiled module is used again while the file and every file bundled with
 * it keep their content (SHA-256), so an unchanged file costs no compiler;
 * entries older than a week are removed whenever another is compiled.
 *
 * Tested against: esbuild 0.28, Node 20.
 * Reference: esbuild's build API (bundle, external, metafile, plugins: onResolve, onLoad, build.resolve).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message, Plugin } from 'esbuild';
import { BUILT_HARNESS, FROM_SOURCES, SOURCE_HARNESS } from './build.js';
import { cacheDir } from './paths.js';

/** Raised when this way of compiling changes: modules compiled the old way are not used again. */
const COMPILER_VERSION = 1;

export type CompileOptions = {
  /** Where compiled modules are kept (default: <cache>/modules). */
  cache: string;
  /** The harness sources (imports of them are pointed at `built`) and the build. */
  sources: string;
  built: string;
};

const defaults = (): CompileOptions => ({
  cache: join(cacheDir(), 'modules'),
  sources: SOURCE_HARNESS,
  built: BUILT_HARNESS,
});

export async function importUserModule(file: string): Promise<{ default?: unknown }> {
  const path = FROM_SOURCES ? file : await compiledModule(file);
  return (await import(pathToFileURL(path).href)) as { default?: unknown };
}

type Manifest = { output: string; inputs: [path: string, sha256: string][] };

/** The compiled module of `file` (an absolute path): from the cache when current, else compiled now. */
export async function compiledModule(file: string, options: CompileOptions = defaults()): Promise<string> {
  const source = await readFile(file);
  const key = sha256(`${COMPILER_VERSION}\0${options.built}\0${file}\0`, source);
  const manifestFile = join(options.cache, `${key}.json`);
  const cached = await currentManifest(manifestFile, options.cache);
  if (cached) return join(options.cache, cached.output);
  const { code, inputs } = await compile(file, options);
  const manifest: Manifest = {
    output: `${key.slice(0, 16)}-${sha256('', code).slice(0, 16)}.mjs`,
    inputs: await Promise.all(
      inputs
        .filter((input) => input !== file)
        .map(async (input): Promise<[string, string]> => [input, sha256('', await readFile(input))]),
    ),
  };
  await mkdir(options.cache, { recursive: true });
  await pruneOld(options.cache);
  await writeWhole(join(options.cache, manifest.output), code);
  await writeWhole(manifestFile, JSON.stringify(manifest));
  return join(options.cache, manifest.output);
}

/** Compiled modules older than this are removed when another is compiled (one still used is compiled again). */
const KEEP_MS = 7 * 24 * 3600 * 1000;

/** Removes the cache's entries written more than KEEP_MS ago: files edited or gone leave theirs behind. */
async function pruneOld(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const written = await stat(path).then(
      (info) => info.mtimeMs,
      () => now,
    );
    if (now - written > KEEP_MS) await rm(path, { force: true });
  }
}

function sha256(prefix: string, content: string | Buffer): string {
  return createHash('sha256').update(prefix).update(content).digest('hex');
}

/** The manifest, when it exists, its module exists and every bundled file still has the content it had. */
async function currentManifest(file: string, dir: string): Promise<Manifest | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (!existsSync(join(dir, manifest.output))) return undefined;
  for (const [path, hash] of manifest.inputs) {
    const content = await readFile(path).catch(() => undefined);
    if (!content || sha256('', content) !== hash) return undefined;
  }
  return manifest;
}

/** A temporary file, then a rename: a reader never sees half a file, even with another job compiling the same. */
async function writeWhole(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

async function compile(file: string, options: CompileOptions): Promise<{ code: string; inputs: string[] }> {
  const { build } = await import('esbuild');
  try {
    const result = await build({
      entryPoints: [file],
      absWorkingDir: dirname(file),
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      target: 'node20.19',
      // Resolve packages as Node does: no 'module' condition, no 'module' field.
      conditions: [],
      mainFields: ['main'],
      logLevel: 'silent',
      plugins: [userModulePlugin(options)],
    });
    return {
      code: result.outputFiles[0]!.text,
      inputs: Object.keys(result.metafile.inputs).map((input) => resolve(dirname(file), input)),
    };
  } catch (error) {
    const first = (error as { errors?: Message[] }).errors?.[0];
    throw first ? new Error(oneLine(first)) : error;
  }
}

/** "board.ts:3:14: Expected ';' but found 'x'" */
function oneLine(message: Message): string {
  const where = message.location
    ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: `
    : '';
  return `${where}${message.text}`;
}

const RESOLVING = Symbol('resolving a package');

function userModulePlugin(options: CompileOptions): Plugin {
  return {
    name: 'pxe-hil-user-module',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === RESOLVING) return undefined;
        const spec = args.path;
        if (spec.startsWith('node:') || builtinModules.includes(spec)) return { path: spec, external: true };
        if (spec.startsWith('.') || isAbsolute(spec) || spec.startsWith('file:')) {
          const path = spec.startsWith('file:') ? fileURLToPath(spec) : resolve(args.resolveDir, spec);
          const own = builtModuleOf(path, options);
          if (own === undefined) return undefined;
          if (!existsSync(own)) return { errors: [{ text: `'${spec}' is no module of pxe-hil (no ${own})` }] };
          return { path: pathToFileURL(own).href, external: true };
        }
        // A package: the file Node would find from the importing file's folder.
        const found = await build.resolve(spec, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          pluginData: RESOLVING,
        });
        if (found.errors.length > 0) return { errors: found.errors };
        return { path: pathToFileURL(found.path).href, external: true };
      });
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => ({
        contents: withOwnMeta(await readFile(args.path, 'utf8'), args.path),
        loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js',
      }));
    },
  };
}

/** The build's module for a path into harness/ (sources or build), e.g. harness/config/target.js; undefined for any other path. */
export function builtModuleOf(path: string, options: Pick<CompileOptions, 'sources' | 'built'>): string | undefined {
  for (const from of [options.sources, options.built]) {
    if (!path.startsWith(from + sep)) continue;
    return join(options.built, `${relative(from, path).replace(/\.[cm]?[jt]s$/, '')}.js`);
  }
  return undefined;
}

/** The module's own `import.meta` paths, fixed in its text: the compiled module lives elsewhere. */
export function withOwnMeta(text: string, path: string): string {
  const values: Record<string, string> = { url: pathToFileURL(path).href, dirname: dirname(path), filename: path };
  return text.replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, field: string) => JSON.stringify(values[field]));
}
