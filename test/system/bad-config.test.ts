/**
 * Bad input stops a run before anything is started, with exit 2 and one line
 * that says what is wrong and how to fix it.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hil } from '../support/hil.js';
import { suiteScope } from '../support/scope.js';

const files = suiteScope();
let targetsDir: string;
let results: string;
let state: string;

const validTarget = {
  name: 'broken',
  image: 'busybox',
  power: { driver: 'qemu' },
  console: { kind: 'qemu-socket' },
  network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:09' },
};

beforeAll(() => {
  targetsDir = files.tempDir('hil-targets-');
  results = files.results();
  state = files.tempDir('hil-bad-config-state-');
});

function writeTarget(name: string, value: unknown): void {
  writeFileSync(join(targetsDir, `${name}.ts`), `export default ${JSON.stringify(value)};\n`);
}

/** What is in a directory the run may have made; nothing when it did not make it. */
const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

async function expectUsageError(args: string[], message: RegExp, env: Record<string, string> = {}): Promise<void> {
  const runtime = join(state, 'run');
  const locks = join(state, 'lock');
  const run = await hil([...args, '--results', results], {
    env: { PXE_HIL_RUNTIME_DIR: runtime, PXE_HIL_LOCK_DIR: locks, ...env },
  });
  expect(run.exitCode, run.stdout + run.stderr).toBe(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines[0]).toMatch(message);
  // Nothing was started: no run began (no output), so no results directory, no job state and no lock either.
  expect(run.stdout).toBe('');
  expect(readdirSync(results), 'the results root').toEqual([]);
  expect(entries(runtime), 'the runtime directory').toEqual([]);
  expect(entries(locks), 'the lock directory').toEqual([]);
}

describe('bad input', () => {
  it('names an unknown target and lists the known ones', async () => {
    await expectUsageError(
      ['--target', 'no-such-board'],
      /^pxe-hil: unknown target 'no-such-board': no targets\/no-such-board\.ts\. Known targets: .*qemu-x86/,
    );
  });

  it('names the file and field of a missing field', async () => {
    const { network: _, ...withoutNetwork } = validTarget;
    writeTarget('broken', withoutNetwork);
    await expectUsageError(
      ['--target', 'broken', '--targets-dir', targetsDir],
      /broken\.ts: field 'network': is missing/,
    );
  });

  it('names a field of the wrong type', async () => {
    writeTarget('broken', { ...validTarget, power: { driver: 'qemu', memoryMiB: 'lots' } });
    await expectUsageError(
      ['--target', 'broken', '--targets-dir', targetsDir],
      /broken\.ts: field 'power\.memoryMiB': expected number, got string/,
    );
  });

  it('names a bad MAC address', async () => {
    writeTarget('broken', { ...validTarget, network: { kind: 'qemu-tap', mac: '52:54:00:zz:00:01' } });
    await expectUsageError(
      ['--target', 'broken', '--targets-dir', targetsDir],
      /field 'network\.mac': expected a MAC address such as 52:54:00:12:34:56/,
    );
  });

  it('names an unknown image', async () => {
    await expectUsageError(
      ['--target', 'qemu-x86', '--image', 'no-such-image'],
      /^pxe-hil: unknown image 'no-such-image': no fixtures\/images\/no-such-image\.ts\. Known images: busybox, busybox-no-initrd, debian-netinstall, debian-netinstall-arm64, debian-netinstall-armhf$/,
    );
  });

  it('refuses an unknown option with the usage', async () => {
    const run = await hil(['--target', 'qemu-x86', '--no-such-option']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/Unknown option '--no-such-option'/);
    expect(run.stderr).toMatch(/usage:/);
  });

  it('asks for --target', async () => {
    await expectUsageError(
      [],
      /^pxe-hil: --target or --pool is required, e.g. --target qemu-x86 \(see: npm run hil -- targets\)$/,
    );
  });

  it('says how to hold a target up when --no-boot finds no running job', async () => {
    await expectUsageError(
      ['--target', 'qemu-x86-pxelinux', '--suite', 'smoke', '--no-boot'],
      /^pxe-hil: --no-boot: no running job holds target 'qemu-x86-pxelinux'; start one with: npm run hil -- --target qemu-x86-pxelinux --image busybox --keep-up$/,
    );
  });

  it.each(['fast', '-1', '20000'])('names a bad TFTP busy-polling budget (%s) and how to fix it', async (value) => {
    await expectUsageError(
      ['--target', 'qemu-x86'],
      /^pxe-hil: PXE_HIL_TFTP_BUSY_POLL_US='.*' is not a number of microseconds from 0 to 10000; unset it for the default \(100\) or set 0 to turn TFTP busy polling off$/,
      { PXE_HIL_TFTP_BUSY_POLL_US: value },
    );
  });

  it('asks for suites with --no-boot', async () => {
    await expectUsageError(
      ['--target', 'qemu-x86', '--no-boot'],
      /--no-boot runs suites on a target that is up: name them with --suite NAME/,
    );
  });
});
