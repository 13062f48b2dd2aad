/**
 * Pools of targets: boards of one kind that any job may take. A pool is
 * every target file that names it in `pools`; `--pool NAME` loads and checks
 * them all before anything starts.
 */
import { UsageError } from '../core/errors.js';
import { displayPath } from '../core/paths.js';
import { DEFAULT_TARGETS_DIR, listTargets, loadTarget } from './load-target.js';
import { poolName, type Target } from './target.js';

export type TargetPool = { name: string; targets: Target[] };

/** Every target file of the directory, loaded and validated, by name. */
export async function loadTargets(dir = DEFAULT_TARGETS_DIR): Promise<Target[]> {
  const targets: Target[] = [];
  for (const name of await listTargets(dir)) targets.push(await loadTarget(name, dir));
  return targets;
}

/** Each pool the targets name, with its targets' names in order. */
export function poolsOf(targets: readonly Target[]): Map<string, string[]> {
  const pools = new Map<string, string[]>();
  for (const target of targets)
    for (const pool of target.pools) pools.set(pool, [...(pools.get(pool) ?? []), target.name]);
  return new Map([...pools].sort(([a], [b]) => a.localeCompare(b)));
}

/** The pool's targets, loaded and validated; an unknown pool is a UsageError naming the known ones. */
export async function loadPool(name: string, dir = DEFAULT_TARGETS_DIR): Promise<TargetPool> {
  if (!poolName.safeParse(name).success)
    throw new UsageError(`pool name '${name}' is not valid: use lower-case letters, digits and dashes`);
  const targets = await loadTargets(dir);
  const members = targets.filter((target) => target.pools.includes(name));
  if (members.length === 0) {
    const known = [...poolsOf(targets).keys()];
    throw new UsageError(
      `unknown pool '${name}': no target file in ${displayPath(dir)} names it in 'pools'. Known pools: ${known.join(', ') || 'none'}`,
    );
  }
  return { name, targets: members };
}
