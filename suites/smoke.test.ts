/**
 * Smoke suite for the small image (busybox): the target runs the kernel it
 * was booted with, has the memory its target file gives it, reaches the
 * harness's HTTP server over the job's network, takes a file over SSH
 * and gives the same bytes back, and answers at its serial console's shell.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describe, expect, test } from '../fixtures/target.js';

const local = mkdtempSync(join(tmpdir(), 'hil-smoke-'));
afterAll(() => rmSync(local, { recursive: true, force: true }));

describe('smoke', () => {
  test('runs the kernel it was booted with', async ({ target }) => {
    expect(target.kernelRelease).toBeDefined();
    const result = await target.ssh.exec('uname -r');
    expect(result).toEqual({ stdout: target.kernelRelease, stderr: '', code: 0 });
  });

  test('has the memory of its target file', async ({ target }) => {
    const { stdout, code } = await target.ssh.exec('cat /proc/meminfo');
    expect(code).toBe(0);
    const totalKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(stdout)?.[1]);
    const configuredKiB = target.memoryMiB! * 1024;
    // MemTotal is what the kernel manages: the configured size less firmware and kernel reservations (a few percent).
    expect(totalKiB).toBeLessThanOrEqual(configuredKiB);
    expect(totalKiB).toBeGreaterThan(configuredKiB * 0.85);
  });

  test('runs commands at the shell on its serial console, with their exit status', async ({ target }) => {
    expect(await target.shell.run('uname -r')).toEqual({ output: target.kernelRelease, exitCode: 0 });
    expect(await target.shell.run('cat /proc/sys/kernel/hostname; (exit 3)')).toEqual({
      output: 'hil-small',
      exitCode: 3,
    });
    expect((await target.shell.run('ls /no/such/file')).exitCode).not.toBe(0);
  });

  test('reaches the harness HTTP server from the target', async ({ target }) => {
    const result = await target.ssh.exec(`wget -q -O- http://${target.serverIp}/boot.ipxe`);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('#!ipxe')).toBe(true);
  });

  test('takes a file over SSH and gives the same bytes back', async ({ target }) => {
    const data = randomBytes(256 * 1024);
    const sent = join(local, 'sent.bin');
    const back = join(local, 'back.bin');
    writeFileSync(sent, data);
    await target.ssh.putFile(sent, '/tmp/hil-smoke.bin');
    const sha = createHash('sha256').update(data).digest('hex');
    expect(await target.ssh.exec('sha256sum /tmp/hil-smoke.bin')).toEqual({
      stdout: `${sha}  /tmp/hil-smoke.bin`,
      stderr: '',
      code: 0,
    });
    await target.ssh.getFile(back, '/tmp/hil-smoke.bin');
    expect(createHash('sha256').update(readFileSync(back)).digest('hex')).toBe(sha);
  });
});
