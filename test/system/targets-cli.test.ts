/**
 * `hil targets`: every file in the targets directory, with its description,
 * in one aligned column; nothing is started.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
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
