/**
 * Pools of targets from the target files (`pools`), what `targets --json`
 * makes of them, and the Lockable Resources generated from that listing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateTarget } from '../../harness/config/load-target.js';
import { loadPool, poolsOf } from '../../harness/config/pools.js';
import type { Target } from '../../harness/config/target.js';
import { targetsJson } from '../../harness/cli/targets-command.js';
import { UsageError } from '../../harness/core/errors.js';
import { lockableResources, renderJcasc } from '../../scripts/lockable-resources.js';
import { writeTargetFile } from '../support/hil.js';

function target(name: string, fields: Record<string, unknown> = {}): Target {
  return validateTarget(
    {
      name,
      description: `board ${name}`,
      image: 'busybox',
      power: { driver: 'qemu' },
      console: { kind: 'qemu-socket' },
      network: { kind: 'qemu-tap', mac: '52:54:00:12:34:56' },
      ...fields,
    },
    `${name}.ts`,
    name,
  );
}

const lab = [
  target('b7', { pools: ['x86-server'], jenkins: { agent: 'hil-lab-2' } }),
  target('a1', { pools: ['x86-server', 'arm64'] }),
  target('c3'),
];

describe('poolsOf', () => {
  it('lists each pool once, sorted, with its targets in the order given', () => {
    expect([...poolsOf(lab)]).toEqual([
      ['arm64', ['a1']],
      ['x86-server', ['b7', 'a1']],
    ]);
  });
});

describe('targetsJson', () => {
  it("lists every target with its agent label, pools, power and console kinds, and the pools' targets", () => {
    expect(targetsJson(lab)).toEqual({
      targets: [
        {
          name: 'b7',
          description: 'board b7',
          image: 'busybox',
          agent: 'hil-lab-2',
          pools: ['x86-server'],
          power: 'qemu',
          console: 'qemu-socket',
        },
        {
          name: 'a1',
          description: 'board a1',
          image: 'busybox',
          agent: 'hil-lab',
          pools: ['x86-server', 'arm64'],
          power: 'qemu',
          console: 'qemu-socket',
        },
        {
          name: 'c3',
          description: 'board c3',
          image: 'busybox',
          agent: 'hil-lab',
          pools: [],
          power: 'qemu',
          console: 'qemu-socket',
        },
      ],
      pools: { arm64: ['a1'], 'x86-server': ['b7', 'a1'] },
    });
  });
});

describe('lockable resources', () => {
  it('makes one resource per target, labelled with its pools, as JCasC YAML', () => {
    const odd = target('d4', { description: 'say "hi" \\ # not a comment', pools: ['arm64'] });
    expect(renderJcasc(lockableResources(targetsJson([...lab, odd])))).toBe(
      [
        '# Lockable Resources for the pxe-hil targets, from `hil targets --json` (scripts/lockable-resources.ts).',
        '# One resource per target, hil-target-<name>, labelled pool-<pool> for each of its pools.',
        'unclassified:',
        '  lockableResourcesManager:',
        '    declaredResources:',
        '      - name: "hil-target-b7"',
        '        description: "board b7 (pxe-hil target b7, agent hil-lab-2)"',
        '        labels: "pool-x86-server"',
        '      - name: "hil-target-a1"',
        '        description: "board a1 (pxe-hil target a1, agent hil-lab)"',
        '        labels: "pool-x86-server pool-arm64"',
        '      - name: "hil-target-c3"',
        '        description: "board c3 (pxe-hil target c3, agent hil-lab)"',
        '        labels: ""',
        '      - name: "hil-target-d4"',
        '        description: "say \\"hi\\" \\\\ # not a comment (pxe-hil target d4, agent hil-lab)"',
        '        labels: "pool-arm64"',
        '',
      ].join('\n'),
    );
  });
});

describe('loadPool', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hil-pools-'));
    const file = (name: string, mac: string, pools: string[]) =>
      writeTargetFile(dir, {
        name,
        image: 'busybox',
        power: { driver: 'qemu' },
        console: { kind: 'qemu-socket' },
        network: { kind: 'qemu-tap', mac },
        pools,
      });
    file('p-one', '52:54:00:00:00:01', ['pc']);
    file('p-two', '52:54:00:00:00:02', ['pc', 'big']);
    file('p-three', '52:54:00:00:00:03', []);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads the pool's targets, in file name order", async () => {
    const pool = await loadPool('pc', dir);
    expect(pool.name).toBe('pc');
    expect(pool.targets.map((t) => t.name)).toEqual(['p-one', 'p-two']);
  });

  it('names an unknown pool and the known ones, with exit 2', async () => {
    const error = await loadPool('arm', dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toBe(
      `unknown pool 'arm': no target file in ${dir} names it in 'pools'. Known pools: big, pc`,
    );
  });

  it('refuses a pool name that could not be one', async () => {
    const error = await loadPool('../pc', dir).catch((e: unknown) => e);
    expect((error as UsageError).message).toBe(
      "pool name '../pc' is not valid: use lower-case letters, digits and dashes",
    );
  });
});
