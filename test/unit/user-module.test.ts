/**
 * User module files (targets, images) as the build loads them: compiled once
 * by esbuild into a cache, with their imports of harness/ pointed at the
 * build, their relative imports bundled, packages resolved from their own
 * folder and their own import.meta paths; used again while nothing changed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModuleOf, compiledModule, withOwnMeta } from '../../harness/core/user-module.js';
import { REPO } from '../support/hil.js';

const SOURCES = join(REPO, 'harness');
const BUILT = join(REPO, '.build/harness');
let dir: string;
let cache: string;
const options = () => ({ cache, sources: SOURCES, built: BUILT });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-user-module-'));
  cache = join(dir, 'cache');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const load = async (path: string) => (await import(pathToFileURL(path).href)) as Record<string, unknown>;

describe('compiledModule', () => {
  it('points imports of harness/ at the build and bundles the file with its relative imports', async () => {
    write('base.ts', "export const base: { image: string } = { image: 'busybox' };\n");
    const file = write(
      'board.ts',
      [
        `import { defineTarget } from '${SOURCES}/config/target.js';`,
        "import { base } from './base.js';",
        "export default defineTarget({ ...base, name: 'board' } as never);",
      ].join('\n'),
    );
    const compiled = await compiledModule(file, options());
    const text = readFileSync(compiled, 'utf8');
    expect(text).toContain(`from "${pathToFileURL(join(BUILT, 'config/target.js')).href}"`);
    expect(text).not.toContain('./base.js');
    expect((await load(compiled)).default).toEqual({ image: 'busybox', name: 'board' });
  });

  it('uses the compiled module again until the file or a file bundled with it changes', async () => {
    write('part.ts', 'export const n: number = 1;\n');
    const file = write('counted.ts', "import { n } from './part.js';\nexport default n;\n");
    const first = await compiledModule(file, options());
    expect(await compiledModule(file, options())).toBe(first);
    write('part.ts', 'export const n: number = 2;\n');
    const second = await compiledModule(file, options());
    expect(second).not.toBe(first);
    expect((await load(second)).default).toBe(2);
  });

  it('removes entries older than a week when it compiles another, and keeps newer ones', async () => {
    const own = join(dir, 'prune-cache');
    mkdirSync(own);
    const old = join(own, 'old.mjs');
    const recent = join(own, 'recent.mjs');
    writeFileSync(old, '');
    writeFileSync(recent, '');
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    const sixDaysAgo = new Date(Date.now() - 6 * 24 * 3600 * 1000);
    utimesSync(old, eightDaysAgo, eightDaysAgo);
    utimesSync(recent, sixDaysAgo, sixDaysAgo);
    const file = write('fresh.ts', 'export default 1;\n');
    const compiled = await compiledModule(file, { ...options(), cache: own });
    const left = readdirSync(own);
    expect(left.filter((name) => !name.endsWith('.json')).sort()).toEqual([basename(compiled), 'recent.mjs'].sort());
    expect(left.filter((name) => name.endsWith('.json'))).toHaveLength(1);
  });

  it("keeps the file's own import.meta.url, dirname and filename", async () => {
    const file = write(
      'meta.mjs',
      'export default [import.meta.url, import.meta.dirname, import.meta.filename, import.meta.resolve !== undefined];\n',
    );
    const compiled = await compiledModule(file, options());
    expect((await load(compiled)).default).toEqual([pathToFileURL(file).href, dir, file, true]);
  });

  it("resolves a package from the file's folder as Node does (main, not module)", async () => {
    const pkg = join(dir, 'node_modules/lab-helpers');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'lab-helpers', main: 'main.cjs', module: 'module.mjs' }),
    );
    writeFileSync(join(pkg, 'main.cjs'), "exports.kind = 'main';\n");
    writeFileSync(join(pkg, 'module.mjs'), "export const kind = 'module';\n");
    const file = write('uses-package.ts', "import { kind } from 'lab-helpers';\nexport default kind;\n");
    const compiled = await compiledModule(file, options());
    expect(readFileSync(compiled, 'utf8')).toContain(pathToFileURL(join(pkg, 'main.cjs')).href);
    expect((await load(compiled)).default).toBe('main');
  });

  it('says where a syntax error is, in one line', async () => {
    const file = write('broken.ts', 'export default {\n  name: "x" "y",\n};\n');
    await expect(compiledModule(file, options())).rejects.toThrow(
      /^broken\.ts:2:13: Expected "}" but found "\\"y\\""$/,
    );
  });

  it('names an import of harness/ that has no module', async () => {
    const file = write('wrong.ts', `import { x } from '${SOURCES}/config/no-such-module.js';\nexport default x;\n`);
    await expect(compiledModule(file, options())).rejects.toThrow(
      `wrong.ts:1:19: '${SOURCES}/config/no-such-module.js' is no module of pxe-hil (no ${BUILT}/config/no-such-module.js)`,
    );
  });
});

describe('builtModuleOf', () => {
  it('maps a source or built path of harness/ to the built module, and nothing else', () => {
    const o = { sources: SOURCES, built: BUILT };
    expect(builtModuleOf(`${SOURCES}/images/image.js`, o)).toBe(`${BUILT}/images/image.js`);
    expect(builtModuleOf(`${SOURCES}/images/image.ts`, o)).toBe(`${BUILT}/images/image.js`);
    expect(builtModuleOf(`${BUILT}/images/image.js`, o)).toBe(`${BUILT}/images/image.js`);
    expect(builtModuleOf(`${REPO}targets/qemu-x86.ts`, o)).toBeUndefined();
    expect(builtModuleOf(`${SOURCES}-other/x.js`, o)).toBeUndefined();
  });
});

describe('withOwnMeta', () => {
  it('puts the original paths in for import.meta.url, dirname and filename only', () => {
    expect(
      withOwnMeta('a(import.meta.url, import.meta.dirname, import.meta.filename, import.meta.resolve)', '/x/y.ts'),
    ).toBe('a("file:///x/y.ts", "/x", "/x/y.ts", import.meta.resolve)');
  });
});
