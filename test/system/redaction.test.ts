/**
 * A secret that the target names (a command power driver's `secretEnv`, no
 * PXE_HIL_SECRET_VARS) is masked in every file a run writes and in its
 * stdout and stderr. The board is QEMU, switched by power commands (a relay
 * script) that print the secret when the power-off at the end fails.
 *
 * - A broken boot: the small image's kernel without initrd is told its root
 *   device is the secret, so it prints it on the console (the command line,
 *   then the panic, whose line is the failure line and whose last lines go
 *   into the JUnit failure and the Allure result).
 * - A boot with a suite: the suite has the board send a DHCP request naming
 *   itself by the secret (dnsmasq logs it in pxe.log), prints it and fails
 *   on it (suites.log, suites-junit.xml, the suites' Allure results).
 *
 * Every file under the results directory is read whole and must not hold it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeRoot } from '../../harness/core/paths.js';
import {
  events,
  hil,
  jobIdOf,
  NO_RESIDUE,
  readResult,
  REPO,
  residueOf,
  resultsDirOf,
  resultsRoot,
  writeTargetFile,
} from '../support/hil.js';
import { endQemuBoard, QEMU_BOARD_FUNCTIONS } from '../support/qemu-board.js';

const SECRET = 'tok-9f3a7c1e5b';
const TOKEN_ENV = 'HIL_RELAY_TOKEN';
let dir: string;
let results: string;

/** The relay script: cycle starts the QEMU board in the job, off stops it and then fails, printing the token. */
function relayScript(target: string): string {
  return `#!/bin/sh
dir=${dir}/${target}
TARGET=${target}
RUNTIME=${runtimeRoot()}
mkdir -p "$dir"
${QEMU_BOARD_FUNCTIONS}case $1 in
cycle) stop_qemu; start_qemu ;;
on) running || start_qemu ;;
off) stop_qemu; echo "relay refused token $${TOKEN_ENV}" >&2; exit 3 ;;
esac
`;
}

function relayTarget(name: string, fields: Record<string, unknown>, mac: string) {
  const script = join(dir, `${name}.sh`);
  writeFileSync(script, relayScript(name), { mode: 0o755 });
  writeTargetFile(dir, {
    name,
    power: {
      driver: 'command',
      on: `${script} on`,
      off: `${script} off`,
      cycle: `${script} cycle`,
      secretEnv: [TOKEN_ENV],
      offTimeS: 0,
    },
    console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
    network: { kind: 'qemu-tap', mac },
    ...fields,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hil-redaction-'));
  results = resultsRoot();
  relayTarget('secret-board', { image: 'busybox-no-initrd', kernelArgs: `root=${SECRET}` }, '52:54:00:5e:00:01');
  relayTarget('secret-suite-board', { image: 'busybox' }, '52:54:00:5e:00:02');
  writeFileSync(
    join(dir, 'leaky.test.ts'),
    [
      `import { expect, test } from '${join(REPO, 'fixtures/target.ts')}';`,
      "test('the relay token stays on the lab host', async ({ target }) => {",
      `  const token = process.env.${TOKEN_ENV} ?? '';`,
      "  const nic = '$(ls /sys/class/net | grep -v lo | head -1)';",
      // A DHCP request that names the board by the secret: dnsmasq logs the name.
      '  await target.ssh.exec(`udhcpc -i ${nic} -n -q -t 2 -s /bin/true -x hostname:${token}`);',
      "  console.log('the relay token is', token);",
      '  expect(token).toBe("not the token");',
      '});',
      '',
    ].join('\n'),
  );
  const prepared = await hil(['images', '--image', 'busybox-no-initrd']);
  expect(prepared.exitCode, prepared.stderr).toBe(0);
}, 600_000);

afterAll(() => {
  for (const board of ['secret-board', 'secret-suite-board']) endQemuBoard(join(dir, board));
  rmSync(dir, { recursive: true, force: true });
  rmSync(results, { recursive: true, force: true });
});

/** Every file under `root`, relative to it. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

function filesHolding(root: string, secret: string): string[] {
  return filesUnder(root).filter((file) => readFileSync(join(root, file)).includes(secret));
}

const env = { [TOKEN_ENV]: SECRET };

describe('secrets redaction', () => {
  it('masks a secret the target names, printed on the console, in the failure line and by a power command', async () => {
    const run = await hil(['--target', 'secret-board', '--targets-dir', dir, '--results', results], { env });
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const runDir = resultsDirOf(run.stdout);
    const consoleLog = readResult(runDir, 'console.log');
    expect(consoleLog).toMatch(/Command line: .*root=\*\*\*/);
    expect(consoleLog).toContain('VFS: Cannot open root device "***"');
    expect(readResult(runDir, 'junit.xml')).toContain('VFS: Cannot open root device "***"');
    const logged = events(runDir);
    // The failure: the panic line, and the console lines before it, the secret among them.
    const failure = logged.find((e) => e.type === 'failure-pattern');
    expect(failure?.line).toBe('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
    expect(((failure?.lastLines ?? []) as string[]).some((l) => l.includes('VFS: Cannot open root device "***"'))).toBe(
      true,
    );
    expect(logged.find((e) => e.type === 'warning')?.message).toBe(
      'teardown: could not power the target off: power off command failed (exit 3): relay refused token ***',
    );
    const allure = filesUnder(runDir).filter((f) => f.startsWith('allure-results/') && f.endsWith('-result.json'));
    expect(allure).toHaveLength(1);
    expect(readResult(runDir, allure[0]!)).toContain('VFS: Cannot open root device \\"***\\"');
    expect(filesUnder(runDir).filter((f) => !f.startsWith('allure-results/'))).toEqual([
      'console.log',
      'console.raw',
      'events.jsonl',
      'junit.xml',
      'pxe.log',
      'timeline.svg',
    ]);
    expect(filesHolding(runDir, SECRET)).toEqual([]);
    expect(run.stdout.includes(SECRET), 'stdout').toBe(false);
    expect(run.stderr.includes(SECRET), 'stderr').toBe(false);
    expect(residueOf(jobIdOf(runDir))).toEqual(NO_RESIDUE);
  }, 300_000);

  it('masks it in the PXE log and in what a suite writes', async () => {
    const suite = join(dir, 'leaky.test.ts');
    const run = await hil(
      ['--target', 'secret-suite-board', '--targets-dir', dir, '--suite', suite, '--results', results],
      { env },
    );
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const runDir = resultsDirOf(run.stdout);
    expect(readResult(runDir, 'pxe.log')).toContain('client provides name: ***');
    expect(readResult(runDir, 'suites.log')).toContain('the relay token is ***');
    expect(readResult(runDir, 'suites-junit.xml')).toContain('AssertionError: expected &apos;***&apos;');
    const suiteResults = filesUnder(runDir).filter(
      (f) => f.startsWith('allure-results/') && readResult(runDir, f).includes('the relay token stays'),
    );
    expect(suiteResults).toHaveLength(1);
    expect(filesUnder(runDir).filter((f) => !f.startsWith('allure-results/'))).toEqual([
      'console.log',
      'console.raw',
      'events.jsonl',
      'junit.xml',
      'pxe.log',
      'suites-junit.xml',
      'suites.log',
      'timeline.svg',
    ]);
    expect(filesHolding(runDir, SECRET)).toEqual([]);
    expect(run.stdout.includes(SECRET), 'stdout').toBe(false);
    expect(run.stderr.includes(SECRET), 'stderr').toBe(false);
    expect(residueOf(jobIdOf(runDir))).toEqual(NO_RESIDUE);
  }, 400_000);
});
