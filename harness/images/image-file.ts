/**
 * An image file's default export, checked and completed: its shape by a
 * schema, its patterns compiled, its own files (relative to the image file)
 * checked to exist, and the generic Linux milestones filled in where it names
 * none. Also the image a run composes from the command line alone
 * (`--kernel ... --ready ...`, no image file) and the changes the command line
 * makes to any image (`--append`, `--ready`).
 */
import { basename, dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { MilestoneSpec } from '../core/boot.js';
import { UsageError } from '../core/errors.js';
import { type ArtifactRole, type ArtifactSource, checkArtifact, checkServedName } from './artifacts.js';
import { defaultFailurePatterns, INIT_STARTED, linuxNetbootMilestones, rootMountedMilestone } from './boot-patterns.js';
import type { ImageDefinition, ImageFile, NfsRootStyle, PreparedImage, ReadyInput } from './image.js';
import { checkRootfs } from './rootfs-copy.js';
import { describeIssues } from '../config/load-target.js';

const pattern = z.union([z.instanceof(RegExp), z.string().min(1)]);
const bootState = z.enum(['bootloader', 'kernel', 'shell']);
const milestone = z
  .object({
    name: z.string().min(1),
    timeoutS: z.number().positive(),
    enters: bootState.optional(),
    console: pattern.optional(),
    event: z.enum(['lease', 'nfs-mount']).optional(),
    file: z.enum(['bootloader', 'boot-config', 'kernel', 'initrd', 'other']).optional(),
    ssh: z.number().int().min(1).max(65535).optional(),
  })
  .strict()
  .refine((m) => [m.console, m.event, m.file, m.ssh].filter((t) => t !== undefined).length === 1, {
    message: 'give exactly one of console, event, file, ssh',
  });
const ready = z.union([
  pattern,
  z.object({ console: pattern, timeoutS: z.number().positive().optional() }).strict(),
  z
    .object({
      ssh: z.union([z.literal(true), z.number().int().min(1).max(65535)]),
      timeoutS: z.number().positive().optional(),
    })
    .strict(),
]);

export const imageFileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'lower-case letters, digits, dots and dashes'),
    description: z.string().optional(),
    cmdline: z.string().optional(),
    servedNames: z.object({ kernel: z.string().optional(), initrd: z.string().optional() }).strict().optional(),
    artifacts: z
      .object({
        kernel: z.string().optional(),
        initrd: z.string().optional(),
        dtb: z.string().optional(),
        files: z.record(z.string(), z.string()).optional(),
        rootfs: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    nfsroot: z
      .object({
        style: z.enum(['initramfs', 'kernel']).optional(),
        version: z.union([z.literal(3), z.literal(4)]).optional(),
      })
      .strict()
      .optional(),
    prepare: z.custom<() => Promise<PreparedImage>>((v) => typeof v === 'function', 'expected a function').optional(),
    milestones: z.array(milestone).min(1).optional(),
    ready: ready.optional(),
    failurePatterns: z.array(z.object({ name: z.string().min(1), console: pattern }).strict()).optional(),
    ssh: z
      .object({
        user: z.string().min(1),
        port: z.number().int().min(1).max(65535).optional(),
        privateKey: z.string().min(1),
        hostKey: z.string().regex(/^\S+ [A-Za-z0-9+/=]+/, "'<type> <base64>', as in a known_hosts line"),
      })
      .strict()
      .optional(),
    runsSsh: z.boolean().optional(),
  })
  .strict();

/** Ready conditions wait this long by default: a full userland may take minutes under emulation. */
const READY_TIMEOUT_S = 300;

/** Checks and completes an image file's export; `file` is its path, for messages and relative paths. */
export function normalizeImage(value: unknown, file: string, expectedName: string): ImageDefinition {
  if (value === undefined) throw new UsageError(`${file}: has no default export; export default defineImage({...})`);
  const parsed = imageFileSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${file}: ${describeIssues(parsed.error.issues)}`);
  const image = parsed.data;
  const where = (field: string) => `image file ${file}, field '${field}':`;
  if (image.name !== expectedName)
    throw new UsageError(
      `${file}: field 'name' is '${image.name}' but the file is named '${expectedName}'; make them the same`,
    );
  if (image.prepare && image.artifacts?.kernel)
    throw new UsageError(`${file}: give the kernel by 'artifacts' or by 'prepare', not both`);
  const dir = dirname(resolve(file));
  const artifacts = declaredArtifacts(image, dir, where);
  const servedNames = { kernel: image.servedNames?.kernel ?? 'vmlinuz', initrd: image.servedNames?.initrd ?? 'initrd' };
  const milestones = image.milestones
    ? image.milestones.map((m, i) => compileMilestone(m, where(`milestones.${i}.console`)))
    : genericMilestones(artifacts.some((a) => a.role === 'initrd'));
  const complete: ImageDefinition = {
    name: image.name,
    description: image.description ?? `image file ${file}`,
    cmdline: image.cmdline ?? '',
    servedNames,
    milestones: image.ready === undefined ? milestones : [...milestones, readyMilestone(image.ready, where('ready'))],
    failurePatterns: image.failurePatterns
      ? image.failurePatterns.map((p, i) => ({
          name: p.name,
          console: compile(p.console, where(`failurePatterns.${i}`)),
        }))
      : defaultFailurePatterns,
    prepare: image.prepare ?? (async () => ({ kernel: '', provenance: `the files of image file ${file}` })),
    artifacts,
    ...(image.artifacts?.rootfs
      ? {
          rootfs: {
            ...checkRootfs(where('artifacts.rootfs'), resolve(dir, image.artifacts.rootfs)),
            origin: where('artifacts.rootfs'),
          },
        }
      : {}),
    ...(image.nfsroot ? { nfsroot: image.nfsroot } : {}),
    runsSsh: image.ssh !== undefined || image.runsSsh === true,
  };
  if (image.ssh) complete.prepare = withSshLogin(complete.prepare, image.ssh, dir, where('ssh.privateKey'));
  return complete;
}

function declaredArtifacts(
  image: z.infer<typeof imageFileSchema>,
  dir: string,
  where: (field: string) => string,
): ArtifactSource[] {
  const declared = image.artifacts ?? {};
  const served = { kernel: image.servedNames?.kernel ?? 'vmlinuz', initrd: image.servedNames?.initrd ?? 'initrd' };
  const sources: ArtifactSource[] = [];
  const add = (role: ArtifactRole, name: string, path: string, field: string) => {
    const origin = where(`artifacts.${field}`);
    sources.push({
      role,
      name: checkServedName(origin, name),
      path: checkArtifact(origin, resolve(dir, path)),
      origin,
    });
  };
  if (declared.kernel) add('kernel', served.kernel, declared.kernel, 'kernel');
  if (declared.initrd) add('initrd', served.initrd, declared.initrd, 'initrd');
  if (declared.dtb) add('dtb', dtbName(declared.dtb), declared.dtb, 'dtb');
  for (const [name, path] of Object.entries(declared.files ?? {})) add('file', name, path, `files.${name}`);
  return sources;
}

/** Device trees are served as dtb/<file name>, where U-Boot's distro boot asks for them. */
export function dtbName(path: string): string {
  return `dtb/${basename(path)}`;
}

/** The milestones of any netbooted Linux: lease, files fetched, the kernel's banner, init started. */
export function genericMilestones(withInitrd: boolean): MilestoneSpec[] {
  return linuxNetbootMilestones().filter((m) => withInitrd || !('file' in m && m.file === 'initrd'));
}

/** How the board mounts its NFS root: as the image says, else by the initramfs when it has an initrd, else by the kernel. */
export function nfsRootStyleOf(image: Pick<ImageDefinition, 'nfsroot' | 'artifacts'>): NfsRootStyle {
  return image.nfsroot?.style ?? (image.artifacts.some((a) => a.role === 'initrd') ? 'initramfs' : 'kernel');
}

/**
 * The milestones of an image with an NFS root: 'root mounted' where the
 * generic 'init started' is (before it when the kernel mounts the root,
 * after it when the initramfs does), unless the image watches for the mount
 * itself or has no 'init started' to place it by.
 */
export function withRootMountedMilestone(milestones: MilestoneSpec[], style: NfsRootStyle): MilestoneSpec[] {
  if (milestones.some((m) => 'event' in m && m.event === 'nfs-mount')) return milestones;
  const init = milestones.findIndex((m) => m.name === INIT_STARTED && 'console' in m);
  if (init === -1) return milestones;
  const at = style === 'kernel' ? init : init + 1;
  return [...milestones.slice(0, at), rootMountedMilestone(), ...milestones.slice(at)];
}

/** The last milestone: the user's console line, or the board's SSH server answering. */
export function readyMilestone(input: ReadyInput, origin: string): MilestoneSpec {
  if (typeof input === 'object' && !(input instanceof RegExp) && 'ssh' in input) {
    const port = input.ssh === true ? 22 : input.ssh;
    return {
      name: `SSH answers on port ${port}`,
      ssh: port,
      timeoutS: input.timeoutS ?? READY_TIMEOUT_S,
      enters: 'shell',
    };
  }
  const [source, timeoutS] =
    typeof input === 'object' && !(input instanceof RegExp) ? [input.console, input.timeoutS] : [input, undefined];
  const console = compile(source, origin);
  return { name: `ready: ${console.source}`, console, timeoutS: timeoutS ?? READY_TIMEOUT_S, enters: 'shell' };
}

/**
 * `--ready` as given on the command line: 'ssh' or 'ssh:PORT' waits for the
 * board's SSH server; anything else is a console regular expression.
 */
export function parseReadyOption(text: string): ReadyInput {
  const ssh = /^ssh(?::(\d+))?$/.exec(text);
  if (ssh) return { ssh: ssh[1] ? Number(ssh[1]) : true };
  return text;
}

function compileMilestone(m: z.infer<typeof milestone>, origin: string): MilestoneSpec {
  const base = { name: m.name, timeoutS: m.timeoutS, ...(m.enters ? { enters: m.enters } : {}) };
  if (m.console !== undefined) return { ...base, console: compile(m.console, origin) };
  if (m.event !== undefined) return { ...base, event: m.event };
  if (m.file !== undefined) return { ...base, file: m.file };
  return { ...base, ssh: m.ssh! };
}

/** A pattern as a RegExp; a string is compiled, and a bad one named. */
export function compile(source: RegExp | string, origin: string): RegExp {
  if (source instanceof RegExp) return source;
  try {
    return new RegExp(source);
  } catch (error) {
    throw new UsageError(`${origin} '${source}' is not a valid regular expression: ${(error as Error).message}`);
  }
}

function withSshLogin(
  prepare: () => Promise<PreparedImage>,
  ssh: NonNullable<ImageFile['ssh']>,
  dir: string,
  origin: string,
): () => Promise<PreparedImage> {
  const clientKeyPath = checkArtifact(origin, resolve(dir, ssh.privateKey));
  const hostKey = ssh.hostKey.split(/\s+/).slice(0, 2).join(' ');
  return async () => ({
    ...(await prepare()),
    ssh: { user: ssh.user, port: ssh.port ?? 22, hostKey, clientKeyPath },
  });
}

/**
 * The image of a run given only the job's own files on the command line
 * (`--kernel`, maybe `--initrd`): a generic Linux boot, its ready condition
 * added by `--ready`.
 */
export function commandLineImage(options: { withInitrd: boolean }): ImageDefinition {
  return {
    name: 'custom',
    description: "the job's own kernel and initrd, from the command line",
    cmdline: '',
    servedNames: { kernel: 'vmlinuz', initrd: 'initrd' },
    milestones: genericMilestones(options.withInitrd),
    failurePatterns: defaultFailurePatterns,
    prepare: async () => ({ kernel: '', provenance: "the job's own files" }),
    artifacts: [],
    runsSsh: false,
  };
}
