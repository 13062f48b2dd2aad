/**
 * `hil targets`: every file in the targets directory, with its description,
 * in one aligned column; nothing is started. `--json`: every target with what
 * a pipeline plans from, checked against the target files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { TargetsJson } from '../../harness/cli/targets-command.js';
import { listTargets, loadTarget } from '../../harness/config/load-target.js';
import { hil } from '../support/hil.js';

it('lists each target with its description, aligned after the longest name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hil-targets-cli-'));
  try {
    const target = (name: string, description: string) =>
      `export default ${JSON.stringify({ name, description, image: 'busybox', power: { driver: 'qemu' }, console: { kind: 'qemu-socket' }, network: { kind: 'qemu-tap', mac: '52:54:00:12:34:56' } })};\n`;
    writeFileSync(join(dir, 'a.ts'), target('a', 'short name'));
    writeFileSync(join(dir, 'board-with-a-long-name-x.ts'), target('board-with-a-long-name-x', 'long name'));
    const run = await hil(['targets', '--targets-dir', dir]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${'a'.padEnd(25)} short name\n${'board-with-a-long-name-x'.padEnd(25)} long name`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('lists every target file as JSON, with its agent label, pools, power and console, for a pipeline', async () => {
  const run = await hil(['targets', '--json']);
  expect(run.exitCode, run.stderr).toBe(0);
  const listed = JSON.parse(run.stdout) as TargetsJson;
  const names = await listTargets();
  expect(listed.targets.map((t) => t.name)).toEqual(names);
  const pools: Record<string, string[]> = {};
  for (const name of names) {
    const target = await loadTarget(name);
    expect(listed.targets.find((t) => t.name === name)).toEqual({
      name,
      description: target.description,
      image: target.image,
      agent: target.jenkins.agent,
      pools: target.pools,
      power: target.power.driver,
      console: target.console.kind,
    });
    for (const pool of target.pools) pools[pool] = [...(pools[pool] ?? []), name];
  }
  expect(listed.pools).toEqual(pools);
  // The shipped files: board1 on the second lab host in pool x86-server, two QEMU PCs in pool qemu-pc.
  expect(listed.pools).toEqual({ 'qemu-pc': ['qemu-x86', 'qemu-x86-uefi'], 'x86-server': ['board1'] });
  expect(listed.targets.find((t) => t.name === 'board1')?.agent).toBe('hil-lab-2');
});

it('a target file with a bad pool stops the JSON listing with exit 2, naming the file and the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hil-targets-cli-'));
  try {
    writeFileSync(
      join(dir, 'bad.ts'),
      `export default ${JSON.stringify({ name: 'bad', image: 'busybox', power: { driver: 'qemu' }, console: { kind: 'qemu-socket' }, network: { kind: 'qemu-tap', mac: '52:54:00:12:34:56' }, pools: ['Big Boards'] })};\n`,
    );
    const run = await hil(['targets', '--json', '--targets-dir', dir]);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `pxe-hil: ${join(dir, 'bad.ts')}: field 'pools.0': expected a pool name of lower-case letters, digits and dashes, such as x86-server`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
