/**
 * Loads and validates targets/<name>.ts. Every problem is a UsageError whose
 * one line names the file, the field, what was expected and how to fix it,
 * before anything is started. A loaded target's secrets (target-secrets.ts)
 * are registered for redaction.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { solBmcOf } from './sol-bmc.js';
import { repoPath } from '../core/build.js';
import { firstLineOf, UsageError } from '../core/errors.js';
import { displayPath } from '../core/paths.js';
import { importUserModule } from '../core/user-module.js';
import { targetSchema, type Target } from './target.js';
import { registerTargetSecrets } from './target-secrets.js';

export const DEFAULT_TARGETS_DIR = repoPath('targets');

export async function listTargets(dir = DEFAULT_TARGETS_DIR): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

export async function loadTarget(name: string, dir = DEFAULT_TARGETS_DIR): Promise<Target> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new UsageError(
      `target name '${name}' is not valid: use the name of a file in ${displayPath(dir)} (lower-case letters, digits, dashes)`,
    );
  }
  const file = join(dir, `${name}.ts`);
  if (!existsSync(file)) {
    const known = await listTargets(dir);
    throw new UsageError(
      `unknown target '${name}': no ${displayPath(file)}. Known targets: ${known.join(', ') || 'none'}`,
    );
  }
  let module: { default?: unknown };
  try {
    module = await importUserModule(file);
  } catch (error) {
    throw new UsageError(`${displayPath(file)} could not be loaded: ${firstLineOf(error)}`);
  }
  const target = validateTarget(module.default, displayPath(file), name);
  if (target.network.kind === 'lab') await refuseSharedServerAddress(target, dir);
  // Before anything starts: from here on no log or report shows the values of the secrets the target names.
  registerTargetSecrets(target);
  return target;
}

/**
 * Jobs of different targets may serve on one lab interface at once, each from
 * its own address: two targets with the same interface and server address
 * would put one address on the lab network twice. Other target files that do
 * not load or validate are skipped here (loading them names their problem).
 */
async function refuseSharedServerAddress(target: Target, dir: string): Promise<void> {
  if (target.network.kind !== 'lab') return;
  const mine = target.network;
  const address = mine.serverAddress.split('/')[0];
  for (const name of await listTargets(dir)) {
    if (name === target.name) continue;
    const file = join(dir, `${name}.ts`);
    let other: Target;
    try {
      const parsed = targetSchema.safeParse((await importUserModule(file)).default);
      if (!parsed.success) continue;
      other = parsed.data;
    } catch {
      continue;
    }
    const theirs = other.network;
    if (
      theirs.kind === 'lab' &&
      theirs.interface === mine.interface &&
      theirs.netns === mine.netns &&
      theirs.serverAddress.split('/')[0] === address
    ) {
      throw new UsageError(
        `${displayPath(join(dir, `${target.name}.ts`))}: field 'network.serverAddress': ${address} on ${mine.interface} is also ${displayPath(file)}'s; give every target on one interface its own server address`,
      );
    }
  }
}

export function validateTarget(value: unknown, file: string, expectedName?: string): Target {
  if (value === undefined) throw new UsageError(`${file}: has no default export; export default defineTarget({...})`);
  const result = targetSchema.safeParse(value, { reportInput: true });
  if (!result.success) throw new UsageError(`${file}: ${describeIssues(result.error.issues)}`);
  if (expectedName && result.data.name !== expectedName) {
    throw new UsageError(
      `${file}: field 'name' is '${result.data.name}' but the file is named '${expectedName}.ts'; make them the same`,
    );
  }
  const target = result.data;
  if (target.console.kind === 'ipmi-sol') {
    // An SOL console without its own BMC fields shares the IPMI power driver's BMC.
    try {
      target.console = { ...target.console, ...solBmcOf(target.console, target.power) };
    } catch (error) {
      throw new UsageError(`${file}: field 'console': ${(error as Error).message}`);
    }
  }
  return target;
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const field = issue.path.length ? issue.path.join('.') : '(top level)';
      return `field '${field}': ${explain(issue)}`;
    })
    .join('; ');
}

function explain(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `is missing (expected ${issue.expected})`
        : `expected ${issue.expected}, got ${kindOf(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}: remove or correct the spelling`;
    case 'invalid_union':
      return `${issue.message}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(issue.input)}`;
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
