/**
 * Target and image files of a lab, outside the repository, in a folder with no
 * package.json (TypeScript, .js and .mjs), load in the command line as users
 * run it (the build, plain Node): their imports of pxe-hil's harness/ and of
 * their own helper files work, and import.meta.dirname is their own folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hil, REPO } from '../support/hil.js';

let dir: string;

const image = (name: string) => `{
  name: '${name}',
  description: 'a lab image',
  cmdline: '',
  servedNames: { kernel: 'vmlinuz' },
  milestones: [{ name: 'prompt', console: /# $/, timeoutS: 10 }],
  prepare: async () => ({ kernel: kernelPath, provenance: provenance('${name}') }),
}`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-user-files-'));
  for (const sub of ['targets', 'images', 'broken']) mkdirSync(join(dir, sub));
  writeFileSync(
    join(dir, 'targets/lab-x.ts'),
    `import { defineTarget } from '${REPO}harness/config/target.js';
const mac: string = '52:54:00:a1:0e:01';
export default defineTarget({
  name: 'lab-x',
  description: 'a lab board from a lab folder',
  image: 'busybox',
  power: { driver: 'qemu' },
  console: { kind: 'qemu-socket' },
  network: { kind: 'qemu-tap', mac },
});
`,
  );
  writeFileSync(
    join(dir, 'images/helpers.ts'),
    `export const kernelPath: string = \`\${import.meta.dirname}/vmlinuz\`;
export const provenance = (name: string): string => \`\${name} from the lab\`;
`,
  );
  writeFileSync(
    join(dir, 'images/mine.ts'),
    `import { defineImage } from '${REPO}harness/images/image.js';
import { kernelPath, provenance } from './helpers.js';
export default defineImage(${image('mine')});
`,
  );
  writeFileSync(
    join(dir, 'images/plain.mjs'),
    `import { kernelPath, provenance } from './helpers.js';\nexport default ${image('plain')};\n`,
  );
  writeFileSync(
    join(dir, 'images/script.js'),
    `import { kernelPath, provenance } from './helpers.js';\nexport default ${image('script')};\n`,
  );
  writeFileSync(join(dir, 'broken/bad.ts'), "export default {\n  name: 'bad' 'x',\n};\n");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lab files outside the repository', () => {
  it('a target file that imports harness/', async () => {
    const run = await hil(['targets', '--targets-dir', join(dir, 'targets')]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`${'lab-x'.padEnd(20)} a lab board from a lab folder`);
    expect(run.exitCode).toBe(0);
  });

  it('image files in TypeScript, .mjs and .js, with a helper file of their own', async () => {
    for (const name of ['mine.ts', 'plain.mjs', 'script.js']) {
      const run = await hil(['images', '--image', join(dir, 'images', name)]);
      const base = name.replace(/\..*$/, '');
      expect(run.stderr, name).toBe('');
      expect(run.stdout, name).toBe(`${base.padEnd(20)} ${base} from the lab\n  kernel ${dir}/images/vmlinuz`);
      expect(run.exitCode, name).toBe(0);
    }
  });

  it('a syntax error: the file, the line and column, and what is wrong, in one line', async () => {
    const run = await hil(['--target', 'bad', '--targets-dir', join(dir, 'broken')]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      `pxe-hil: ${dir}/broken/bad.ts could not be loaded: bad.ts:2:15: Expected "}" but found "'x'"`,
    );
    expect(run.stdout).toBe('');
  });
});
