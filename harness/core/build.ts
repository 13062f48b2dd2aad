/**
 * Where pxe-hil's own code is, and how it runs. `npm run hil` runs the build:
 * plain JavaScript in .build/harness/, compiled from harness/ by scripts/build
 * (no TypeScript loader in a run). The tests and `npx tsx harness/cli/main.ts`
 * run the sources through their own loader. Either way the repository's
 * folders (targets/, fixtures/images/, suites/) are found from here, and a
 * program of pxe-hil's own (the file server) runs the way this code runs.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);

/** True when this code is TypeScript run through a loader (tsx, vitest), false in the build. */
export const FROM_SOURCES = HERE.endsWith('.ts');

/** The repository: two folders above harness/core/, three above .build/harness/core/. */
export const REPO_ROOT = join(dirname(HERE), FROM_SOURCES ? '../..' : '../../..');

/** The TypeScript sources. */
export const SOURCE_HARNESS = join(REPO_ROOT, 'harness');

/** The build of harness/ (scripts/build.mjs writes it). */
export const BUILT_HARNESS = join(REPO_ROOT, '.build', 'harness');

/** A folder of the repository, e.g. repoPath('targets'). */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

/**
 * Node's arguments that run one of pxe-hil's own modules as a program (`module`
 * relative to harness/, without extension, e.g. 'pxe/file-server-process'):
 * the built file as it is, or the source through tsx when this runs from the sources.
 */
export function ownProgram(module: string): string[] {
  if (!FROM_SOURCES) return [join(BUILT_HARNESS, `${module}.js`)];
  return ['--import', createRequire(import.meta.url).resolve('tsx'), join(SOURCE_HARNESS, `${module}.ts`)];
}
