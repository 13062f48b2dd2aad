import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../harness/core/errors.js';
import { checkArtifact, pinArtifacts } from '../../harness/images/artifacts.js';
import { commandLineImage, normalizeImage, parseReadyOption, readyMilestone } from '../../harness/images/image-file.js';
import { withCommandLine } from '../../harness/cli/run-config.js';

const dir = mkdtempSync(join(tmpdir(), 'hil-image-file-'));
mkdirSync(join(dir, 'out'));
writeFileSync(join(dir, 'out', 'Image'), 'kernel bytes');
writeFileSync(join(dir, 'out', 'rootfs.cpio.gz'), 'initrd bytes');
writeFileSync(join(dir, 'out', 'board.dtb'), 'dtb bytes');
const file = join(dir, 'product.ts');

const usageError = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('image files', () => {
  it('completes a data-only image: files relative to the image file, generic milestones, then ready', () => {
    const image = normalizeImage(
      {
        name: 'product',
        artifacts: {
          kernel: 'out/Image',
          initrd: 'out/rootfs.cpio.gz',
          dtb: 'out/board.dtb',
          files: { 'cfg/a.txt': 'out/Image' },
        },
        cmdline: 'quiet',
        ready: 'product ready',
      },
      file,
      'product',
    );
    expect(image.artifacts.map((a) => [a.role, a.name, a.path])).toEqual([
      ['kernel', 'vmlinuz', join(dir, 'out/Image')],
      ['initrd', 'initrd', join(dir, 'out/rootfs.cpio.gz')],
      ['dtb', 'dtb/board.dtb', join(dir, 'out/board.dtb')],
      ['file', 'cfg/a.txt', join(dir, 'out/Image')],
    ]);
    expect(image.milestones.map((m) => `${m.name}${m.enters ? ` [${m.enters}]` : ''}`)).toEqual([
      'DHCP lease',
      'kernel fetched',
      'initrd fetched',
      'Linux version [kernel]',
      'init started',
      'ready: product ready [shell]',
    ]);
    expect(image.cmdline).toBe('quiet');
    expect(image.runsSsh).toBe(false);
  });

  it('compiles string patterns and names a bad one with its field', () => {
    const image = normalizeImage(
      {
        name: 'product',
        artifacts: { kernel: 'out/Image' },
        milestones: [{ name: 'banner', console: 'Product \\d+', timeoutS: 30 }],
        failurePatterns: [{ name: 'oops', console: 'OOPS.*' }],
      },
      file,
      'product',
    );
    expect(image.milestones[0]).toEqual({ name: 'banner', console: /Product \d+/, timeoutS: 30 });
    expect(image.failurePatterns).toEqual([{ name: 'oops', console: /OOPS.*/ }]);
    expect(
      usageError(() =>
        normalizeImage({ name: 'product', artifacts: { kernel: 'out/Image' }, ready: 'unclosed (' }, file, 'product'),
      ),
    ).toMatch(/^image file .*product\.ts, field 'ready': 'unclosed \(' is not a valid regular expression: /);
  });

  it('names a missing file, an unknown field, a wrong name, and a milestone with two triggers', () => {
    expect(
      usageError(() => normalizeImage({ name: 'product', artifacts: { kernel: 'out/nope' } }, file, 'product')),
    ).toBe(`image file ${file}, field 'artifacts.kernel': ${join(dir, 'out/nope')}: no such file`);
    expect(usageError(() => normalizeImage({ name: 'product', kernal: 'x' }, file, 'product'))).toMatch(
      /field '\(top level\)': unknown field\(s\) 'kernal'/,
    );
    expect(usageError(() => normalizeImage({ name: 'other' }, file, 'product'))).toBe(
      `${file}: field 'name' is 'other' but the file is named 'product'; make them the same`,
    );
    expect(
      usageError(() =>
        normalizeImage(
          { name: 'product', milestones: [{ name: 'x', timeoutS: 1, console: 'a', event: 'lease' }] },
          file,
          'product',
        ),
      ),
    ).toMatch(/field 'milestones\.0': give exactly one of console, event, file, ssh/);
  });

  it('reads --ready as SSH answering or as a console pattern', () => {
    expect(parseReadyOption('ssh')).toEqual({ ssh: true });
    expect(parseReadyOption('ssh:2222')).toEqual({ ssh: 2222 });
    expect(parseReadyOption('login:')).toBe('login:');
    expect(readyMilestone({ ssh: true }, '--ready')).toEqual({
      name: 'SSH answers on port 22',
      ssh: 22,
      timeoutS: 300,
      enters: 'shell',
    });
  });
});

describe('the command line over an image', () => {
  it("puts the job's own files in place of the image's, by role and by name, and adds --append and --ready", () => {
    const image = normalizeImage(
      { name: 'product', artifacts: { kernel: 'out/Image', files: { 'a.txt': 'out/Image' } }, cmdline: 'quiet' },
      file,
      'product',
    );
    const changed = withCommandLine(
      image,
      [
        { role: 'kernel', name: '', path: '/ws/Image', origin: '--kernel' },
        { role: 'file', name: 'a.txt', path: '/ws/a.txt', origin: '--file' },
        { role: 'file', name: 'b.txt', path: '/ws/b.txt', origin: '--file' },
      ],
      { target: 'qemu-x86', append: 'debug', ready: 'login:' },
    );
    expect(changed.artifacts.map((a) => [a.role, a.name, a.path])).toEqual([
      ['kernel', 'vmlinuz', '/ws/Image'],
      ['file', 'a.txt', '/ws/a.txt'],
      ['file', 'b.txt', '/ws/b.txt'],
    ]);
    expect([changed.cmdline, changed.append]).toEqual(['quiet', 'debug']);
    expect(changed.milestones.at(-1)?.name).toBe('ready: login:');
  });

  it('boots files given alone as a generic Linux boot', () => {
    expect(commandLineImage({ withInitrd: false }).milestones.map((m) => m.name)).toEqual([
      'DHCP lease',
      'kernel fetched',
      'Linux version',
      'init started',
    ]);
  });
});

describe("the job's own files", () => {
  it('refuses a missing file, a directory and a device, naming the option', () => {
    expect(usageError(() => checkArtifact('--kernel', join(dir, 'none')))).toBe(
      `--kernel ${join(dir, 'none')}: no such file`,
    );
    expect(usageError(() => checkArtifact('--initrd', dir))).toBe(
      `--initrd ${dir}: is a directory; give the path of a regular file`,
    );
    expect(usageError(() => checkArtifact('--dtb', '/dev/null'))).toBe(
      '--dtb /dev/null: is not a regular file; give the path of a regular file',
    );
  });

  it('pins a copy with its size and SHA-256; rewriting the source later changes nothing', async () => {
    const source = join(dir, 'out', 'pinned-source');
    writeFileSync(source, 'the build of 10:42');
    const [pinned] = await pinArtifacts(
      [{ role: 'kernel', name: 'vmlinuz', path: source, origin: '--kernel' }],
      join(dir, 'job'),
    );
    writeFileSync(source, 'the next build, written over it');
    expect(pinned!.bytes).toBe(18);
    expect(pinned!.sha256).toBe(createHash('sha256').update('the build of 10:42').digest('hex'));
    expect(readFileSync(pinned!.pinned, 'utf8')).toBe('the build of 10:42');
  });
});
