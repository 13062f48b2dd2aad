/**
 * Loads image files: `<dir>/<name>.ts` (or .js, .mjs) whose default export is
 * `defineImage({...})`, named like target files. pxe-hil's own examples are in
 * fixtures/images/; a lab or a product keeps its own in its own folder
 * (`--images-dir`), or names one file by path (`--image ./images/mine.ts`).
 * Every problem is a UsageError naming the file and what to fix, before
 * anything starts.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { repoPath } from '../core/build.js';
import { firstLineOf, UsageError } from '../core/errors.js';
import { displayPath } from '../core/paths.js';
import { importUserModule } from '../core/user-module.js';
import type { ImageDefinition } from './image.js';
import { normalizeImage } from './image-file.js';

export const DEFAULT_IMAGES_DIR = repoPath('fixtures', 'images');

const EXTENSIONS = ['.ts', '.js', '.mjs'];

/** The image names in `dir`: its files with a module extension. */
export async function listImages(dir = DEFAULT_IMAGES_DIR): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .filter((file) => EXTENSIONS.includes(extname(file)) && !file.endsWith('.d.ts'))
    .map((file) => file.slice(0, -extname(file).length))
    .sort();
}

/** A name or a path: a name is looked up in `dir`; anything with a slash or a module extension is a file. */
export function isImagePath(nameOrPath: string): boolean {
  return nameOrPath.includes('/') || EXTENSIONS.includes(extname(nameOrPath));
}

export async function loadImage(nameOrPath: string, dir = DEFAULT_IMAGES_DIR): Promise<ImageDefinition> {
  const file = isImagePath(nameOrPath) ? resolve(nameOrPath) : await imageFileIn(dir, nameOrPath);
  if (!existsSync(file)) throw new UsageError(`image file ${displayPath(file)} does not exist`);
  let module: { default?: unknown };
  try {
    module = await importUserModule(file);
  } catch (error) {
    throw new UsageError(`${displayPath(file)} could not be loaded: ${firstLineOf(error)}`);
  }
  return { ...normalizeImage(module.default, displayPath(file), basename(file, extname(file))), file };
}

/** Every image of `dir`, loaded (for `hil images`). */
export async function loadImages(dir = DEFAULT_IMAGES_DIR): Promise<ImageDefinition[]> {
  return Promise.all((await listImages(dir)).map((name) => loadImage(name, dir)));
}

async function imageFileIn(dir: string, name: string): Promise<string> {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name))
    throw new UsageError(`image name '${name}' is not valid: use the name of a file in ${displayPath(dir)}, or a path`);
  for (const extension of EXTENSIONS) {
    const file = join(dir, `${name}${extension}`);
    if (existsSync(file)) return file;
  }
  const known = await listImages(dir);
  throw new UsageError(
    `unknown image '${name}': no ${displayPath(join(dir, `${name}.ts`))}. Known images: ${known.join(', ') || 'none'}`,
  );
}
