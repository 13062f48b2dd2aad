/**
 * Jenkins' Lockable Resources for the lab's targets, generated from
 * `hil targets --json` so that they are never kept by hand in two places:
 * one resource per target, `hil-target-<name>`, with its description and a
 * label `pool-<pool>` for each pool it belongs to. Prints the JCasC
 * (configuration-as-code) YAML; docs/jenkins.md says where it goes.
 *
 *   npm run -s lockable-resources [-- --targets-dir DIR] > lockable-resources.yaml
 *
 * Reference: the Lockable Resources plugin's JCasC format
 * (unclassified.lockableResourcesManager.declaredResources: name, description, labels).
 */
import { execa } from 'execa';
import type { TargetsJson } from '../harness/cli/targets-command.js';

export const RESOURCE_PREFIX = 'hil-target-';
export const POOL_LABEL_PREFIX = 'pool-';

export type LockableResource = { name: string; description: string; labels: string[] };

export function lockableResources(listing: TargetsJson): LockableResource[] {
  return listing.targets.map((target) => ({
    name: `${RESOURCE_PREFIX}${target.name}`,
    description: `${target.description || target.name} (pxe-hil target ${target.name}, agent ${target.agent})`,
    labels: target.pools.map((pool) => `${POOL_LABEL_PREFIX}${pool}`),
  }));
}

/** The JCasC YAML; every string is written as a JSON string, which is a YAML double-quoted scalar. */
export function renderJcasc(resources: readonly LockableResource[]): string {
  const lines = [
    '# Lockable Resources for the pxe-hil targets, from `hil targets --json` (scripts/lockable-resources.ts).',
    '# One resource per target, hil-target-<name>, labelled pool-<pool> for each of its pools.',
    'unclassified:',
    '  lockableResourcesManager:',
    '    declaredResources:',
  ];
  for (const resource of resources)
    lines.push(
      `      - name: ${JSON.stringify(resource.name)}`,
      `        description: ${JSON.stringify(resource.description)}`,
      `        labels: ${JSON.stringify(resource.labels.join(' '))}`,
    );
  return `${lines.join('\n')}\n`;
}

async function main(args: string[]): Promise<void> {
  const cli = new URL('../harness/cli/main.ts', import.meta.url).pathname;
  const listed = await execa(process.execPath, ['--import', 'tsx', cli, 'targets', '--json', ...args], {
    cwd: new URL('..', import.meta.url).pathname,
    reject: false,
  });
  if (listed.exitCode !== 0) {
    process.stderr.write(`${listed.stderr}\nlockable-resources: hil targets --json failed (exit ${listed.exitCode})\n`);
    process.exit(listed.exitCode ?? 2);
  }
  process.stdout.write(renderJcasc(lockableResources(JSON.parse(listed.stdout) as TargetsJson)));
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
