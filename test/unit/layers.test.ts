/**
 * The folders of harness/ are layers (CONTRIBUTING.md, "Shape of the code"):
 * a module imports from its own folder and from folders below it, never from
 * one above or beside it. This test reads every import in harness/ and fails
 * on one that breaks the order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const HARNESS = new URL('../../harness/', import.meta.url).pathname;

/** Lower numbers are lower layers. Folders of one rank are peers and may not import each other. */
const LAYERS: Readonly<Record<string, number>> = {
  core: 0,
  config: 1,
  power: 2,
  ssh: 2,
  console: 3,
  images: 3,
  pxe: 3,
  report: 4,
  run: 5,
  cli: 6,
};

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative import specifiers of a module: static imports, re-exports and dynamic imports. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm))
    found.push(match[1]!);
  return found;
}

/** What is wrong with `file` importing `spec` ('' when nothing is). */
function layerProblem(file: string, spec: string): string {
  const from = relative(HARNESS, file).split('/')[0]!;
  const target = relative(HARNESS, resolve(dirname(file), spec));
  if (target.startsWith('..')) return `${relative(HARNESS, file)} imports ${spec}, outside harness/`;
  const to = target.split('/')[0]!;
  if (to === from || to === 'types') return '';
  const [rankFrom, rankTo] = [LAYERS[from], LAYERS[to]];
  if (rankFrom === undefined) return `harness/${from} is not a known layer: add it to LAYERS and CONTRIBUTING.md`;
  if (rankTo === undefined) return `harness/${to} is not a known layer: add it to LAYERS and CONTRIBUTING.md`;
  if (rankTo < rankFrom) return '';
  return `${relative(HARNESS, file)} imports ${target} (${to} is ${rankTo === rankFrom ? 'beside' : 'above'} ${from})`;
}

describe('the layers of harness/', () => {
  it('every import points down or stays in its folder', () => {
    const problems = modules(HARNESS).flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .map((spec) => layerProblem(file, spec))
        .filter(Boolean),
    );
    expect(problems).toEqual([]);
  });

  it('finds an import that points up, one beside, and one outside harness/', () => {
    const file = join(HARNESS, 'pxe/pxe-server.ts');
    expect(layerProblem(file, '../run/rootless-check.js')).toBe(
      'pxe/pxe-server.ts imports run/rootless-check.js (run is above pxe)',
    );
    expect(layerProblem(file, '../images/apt-packages.js')).toBe(
      'pxe/pxe-server.ts imports images/apt-packages.js (images is beside pxe)',
    );
    expect(layerProblem(file, '../../fixtures/images/index.js')).toBe(
      'pxe/pxe-server.ts imports ../../fixtures/images/index.js, outside harness/',
    );
    expect(layerProblem(file, '../core/paths.js')).toBe('');
    expect(layerProblem(file, './netns.js')).toBe('');
  });

  it('reads static, type-only, re-exported and dynamic imports', () => {
    const source = [
      "import { a } from '../core/a.js';",
      "import type { B } from './b.js';",
      "export { c } from '../run/c.js';",
      "const d = await import('../cli/d.js');",
      "import '../report/side-effect.js';",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      '../core/a.js',
      './b.js',
      '../run/c.js',
      '../cli/d.js',
      '../report/side-effect.js',
    ]);
  });
});
