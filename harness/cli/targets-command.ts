/**
 * `hil targets`: every target file, one line each with its description; with
 * `--json`, every target with what a pipeline plans from (its Jenkins agent
 * label, its pools, its power and console kinds) and the pools with their
 * targets. scripts/lockable-resources makes Jenkins' Lockable Resources of it.
 */
import { listTargets, loadTarget } from '../config/load-target.js';
import { loadTargets, poolsOf } from '../config/pools.js';
import type { Target } from '../config/target.js';
import { ExitCode } from '../core/errors.js';

/** One target as `targets --json` lists it: `agent` is jenkins.agent, `power` power.driver, `console` console.kind. */
export type TargetListing = {
  name: string;
  description: string;
  image: string;
  agent: string;
  pools: string[];
  power: string;
  console: string;
};

export type TargetsJson = { targets: TargetListing[]; pools: Record<string, string[]> };

export function targetsJson(targets: readonly Target[]): TargetsJson {
  return {
    targets: targets.map((t) => ({
      name: t.name,
      description: t.description,
      image: t.image,
      agent: t.jenkins.agent,
      pools: t.pools,
      power: t.power.driver,
      console: t.console.kind,
    })),
    pools: Object.fromEntries(poolsOf(targets)),
  };
}

export async function targetsCommand(options: {
  targetsDir?: string;
  json: boolean;
  write: (text: string) => void;
}): Promise<number> {
  if (options.json) {
    options.write(`${JSON.stringify(targetsJson(await loadTargets(options.targetsDir)), null, 2)}\n`);
    return ExitCode.passed;
  }
  const names = await listTargets(options.targetsDir);
  const width = Math.max(20, ...names.map((name) => name.length + 1));
  for (const name of names) {
    const target = await loadTarget(name, options.targetsDir);
    options.write(`${name.padEnd(width)} ${target.description}\n`);
  }
  return ExitCode.passed;
}
