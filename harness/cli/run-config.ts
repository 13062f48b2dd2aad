/**
 * What a run is asked to boot, checked before anything starts: the target
 * file, the image (an image file by name or path, or the job's own files
 * alone), and the job's own files from the command line, which replace the
 * image's (`--kernel`, `--initrd`, `--dtb`, `--file NAME=PATH`, `--rootfs`),
 * with `--append` and `--ready` on top.
 */
import { loadTarget } from '../config/load-target.js';
import { loadPool, type TargetPool } from '../config/pools.js';
import type { Target } from '../config/target.js';
import { UsageError } from '../core/errors.js';
import { type ArtifactSource, checkArtifact, checkServedName } from '../images/artifacts.js';
import type { ImageDefinition, RootfsRequest } from '../images/image.js';
import {
  commandLineImage,
  dtbName,
  nfsRootStyleOf,
  parseReadyOption,
  readyMilestone,
  withRootMountedMilestone,
} from '../images/image-file.js';
import { loadImage } from '../images/load-image.js';
import { checkRootfs } from '../images/rootfs-copy.js';

export type RunInput = {
  target: string;
  image?: string;
  targetsDir?: string;
  imagesDir?: string;
  kernel?: string;
  initrd?: string;
  dtb?: string;
  /** NAME=PATH, served by name. */
  files?: string[];
  append?: string;
  ready?: string;
  /** The board's root file system (a directory or a tarball), served over NFS. */
  rootfs?: string;
};

/** Loads and checks everything a run needs from its input; throws a UsageError before anything starts. */
export async function loadRunConfig(input: RunInput): Promise<{ target: Target; image: ImageDefinition }> {
  const target = await loadTarget(input.target, input.targetsDir);
  return { target, image: await runImage(input, [target]) };
}

/** As loadRunConfig, for a run on any free target of a pool (--pool): every target of the pool, loaded and checked. */
export async function loadPoolRunConfig(
  input: Omit<RunInput, 'target'> & { pool: string },
): Promise<{ pool: TargetPool; image: ImageDefinition }> {
  const pool = await loadPool(input.pool, input.targetsDir);
  return { pool, image: await runImage({ ...input, target: '' }, pool.targets, `pool '${pool.name}'`) };
}

async function runImage(input: RunInput, targets: readonly Target[], what = ''): Promise<ImageDefinition> {
  const artifacts = commandLineArtifacts(input);
  const rootfs: RootfsRequest | undefined = input.rootfs
    ? { ...checkRootfs('--rootfs', input.rootfs), origin: '--rootfs' }
    : undefined;
  const base = await baseImage(input, targets, what);
  return withCommandLine(base, artifacts, input, rootfs);
}

/**
 * The image the run starts from: the one named, else the job's own files alone when --kernel is given, else the
 * target's (a pool's targets must agree on it).
 */
async function baseImage(input: RunInput, targets: readonly Target[], what: string): Promise<ImageDefinition> {
  if (input.image) return loadImage(input.image, input.imagesDir);
  if (input.kernel) return commandLineImage({ withInitrd: input.initrd !== undefined });
  if (input.initrd) throw new UsageError('--initrd needs a kernel: give --kernel PATH too, or --image NAME');
  const images = new Set(targets.map((target) => target.image));
  if (images.size > 1)
    throw new UsageError(
      `the targets of ${what} boot different images (${targets.map((t) => `${t.name}: ${t.image}`).join(', ')}); name the image with --image NAME`,
    );
  return loadImage(targets[0]!.image, input.imagesDir);
}

function commandLineArtifacts(input: RunInput): ArtifactSource[] {
  const sources: ArtifactSource[] = [];
  if (input.kernel)
    sources.push({ role: 'kernel', name: '', path: checkArtifact('--kernel', input.kernel), origin: '--kernel' });
  if (input.initrd)
    sources.push({ role: 'initrd', name: '', path: checkArtifact('--initrd', input.initrd), origin: '--initrd' });
  if (input.dtb)
    sources.push({ role: 'dtb', name: dtbName(input.dtb), path: checkArtifact('--dtb', input.dtb), origin: '--dtb' });
  for (const spec of input.files ?? []) {
    const equals = spec.indexOf('=');
    if (equals <= 0)
      throw new UsageError(`--file '${spec}': expected NAME=PATH, e.g. --file preseed.cfg=out/preseed.cfg`);
    const name = checkServedName('--file', spec.slice(0, equals));
    sources.push({
      role: 'file',
      name,
      path: checkArtifact(`--file ${name}=`, spec.slice(equals + 1)),
      origin: '--file',
    });
  }
  return sources;
}

/**
 * The image with the command line's files in place of its own (by role; extra
 * files by name; the root file system), --append kept for the end of the
 * kernel command line, and the ready condition added. With an NFS root, the
 * generic milestones get 'root mounted'.
 */
export function withCommandLine(
  image: ImageDefinition,
  artifacts: ArtifactSource[],
  input: RunInput,
  rootfs?: RootfsRequest,
): ImageDefinition {
  const served = (role: 'kernel' | 'initrd') => image.servedNames[role];
  const given = artifacts.map((a) => (a.role === 'kernel' || a.role === 'initrd' ? { ...a, name: served(a.role) } : a));
  const replaced = (a: ArtifactSource) =>
    given.some((b) => (a.role === 'file' ? b.role === 'file' && b.name === a.name : b.role === a.role));
  const milestones = input.ready
    ? [...image.milestones, readyMilestone(parseReadyOption(input.ready), '--ready')]
    : image.milestones;
  const changed: ImageDefinition = {
    ...image,
    artifacts: [...image.artifacts.filter((a) => !replaced(a)), ...given],
    append: [image.append, input.append].filter(Boolean).join(' ') || undefined,
    milestones,
    rootfs: rootfs ?? image.rootfs,
  };
  if (!changed.rootfs) return changed;
  return { ...changed, milestones: withRootMountedMilestone(milestones, nfsRootStyleOf(changed)) };
}
