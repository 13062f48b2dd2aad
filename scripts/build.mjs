/**
 * Compiles harness/ to JavaScript in .build/harness/, file by file, so that
 * `npm run hil` runs plain Node with no TypeScript loader. esbuild only strips
 * the types (no bundling, no type check: `npm run typecheck` does that); each
 * module keeps its place, so `import.meta.url` paths and the imports of
 * target and image files keep working. Run through scripts/build, which
 * skips it when the build is current.
 *
 *   node scripts/build.mjs
 */
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, '.build');
// The stamp gets the time the build started: a source saved during the build is newer, and builds again next time.
const started = new Date();
const entryPoints = readdirSync(join(root, 'harness'), { recursive: true })
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
  .map((file) => join(root, 'harness', file));

rmSync(join(out, 'harness'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints,
  outbase: join(root, 'harness'),
  outdir: join(out, 'harness'),
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  sourcemap: 'linked',
  logLevel: 'warning',
});
const stamp = join(out, 'stamp');
writeFileSync(stamp, `${entryPoints.length} modules\n`);
utimesSync(stamp, started, started);
