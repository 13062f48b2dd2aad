/**
 * Compiles harness/ to JavaScript in .build/harness/, so that `npm run hil`
 * runs plain Node with no TypeScript loader. esbuild strips the types (no
 * type check: `npm run typecheck` does that); each module stays its own file
 * in its place, so `import.meta.url` paths and the imports of target and
 * image files keep working; zod alone is bundled (see BUNDLED). Run through
 * scripts/build, which skips it when the build is current.
 *
 *   node scripts/build.mjs
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, '.build');
// The stamp gets the time the build started: a source saved during the build is newer, and builds again next time.
const started = new Date();
const entryPoints = readdirSync(join(root, 'harness'), { recursive: true })
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
  .map((file) => join(root, 'harness', file));

/**
 * Every module of harness/ stays its own file, imported by its path; so do
 * packages, except those in BUNDLED: a package of many small files (zod: 95)
 * loads faster as one chunk (.build/harness/packages/), shared by the modules
 * that import it.
 */
const BUNDLED = new Set(['zod']);
const modulesStayApart = {
  name: 'modules-stay-apart',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, (args) => {
      // The entry points, and the files of a bundled package: resolved as usual.
      if (args.kind === 'entry-point' || args.importer.includes('/node_modules/')) return undefined;
      if (args.path.startsWith('.')) return { path: args.path, external: true };
      const name = args.path
        .split('/')
        .slice(0, args.path.startsWith('@') ? 2 : 1)
        .join('/');
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

// Built beside the current build, then put in its place by two renames: a job starting meanwhile finds one whole build.
const next = join(out, 'harness.next');
const previous = join(out, 'harness.previous');
rmSync(next, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints,
  outbase: join(root, 'harness'),
  outdir: next,
  bundle: true,
  splitting: true,
  chunkNames: 'packages/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [modulesStayApart],
});
rmSync(previous, { recursive: true, force: true });
if (existsSync(join(out, 'harness'))) renameSync(join(out, 'harness'), previous);
renameSync(next, join(out, 'harness'));
rmSync(previous, { recursive: true, force: true });
const stamp = join(out, 'stamp');
writeFileSync(stamp, `${entryPoints.length} modules\n`);
utimesSync(stamp, started, started);
