/**
 * Jobs that ask for any board of a pool (--pool): a pool of two QEMU boards
 * (busybox image, distinct MACs). Two jobs at once take different boards and
 * both pass, their results, job records, JUnit and Allure naming the board
 * each took; a third job waits and says for which pool and who holds each
 * board. A pool with no free board within --lock-timeout ends with exit 3
 * naming the pool and its holders. Usage errors: an unknown pool names the
 * known ones; --pool and --target together.
 */
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { listJobs } from '../../harness/core/job-record.js';
import {
  events,
  hil,
  jobIdOf,
  NO_RESIDUE,
  REPO,
  readResult,
  residueOf,
  resultsDirOf,
  startHil,
  writeTargetFile,
} from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';
import { suiteScope } from '../support/scope.js';

const BOARDS = [
  { name: 'twin-a', mac: '52:54:00:c1:00:0a' },
  { name: 'twin-b', mac: '52:54:00:c1:00:0b' },
];
const files = suiteScope();
let targetsDir: string;
let results: string;
let env: Record<string, string>;

beforeAll(async () => {
  targetsDir = files.tempDir('hil-pool-targets-');
  results = files.results();
  const state = files.tempDir('hil-pool-state-');
  env = { PXE_HIL_RUNTIME_DIR: join(state, 'run'), PXE_HIL_LOCK_DIR: join(state, 'lock') };
  for (const board of BOARDS)
    writeTargetFile(targetsDir, {
      name: board.name,
      description: `pool test board ${board.mac}`,
      image: 'busybox',
      power: { driver: 'qemu', memoryMiB: 512, cpus: 1, nic: 'virtio-net-pci', accel: 'tcg' },
      console: { kind: 'qemu-socket', kernelConsole: 'ttyS0,115200' },
      network: { kind: 'qemu-tap', mac: board.mac },
      // Two TCG boards share the host's cores: every milestone gets five times its time.
      timeoutScale: 5,
      pools: ['twins'],
    });
  // A board outside the pool, in another pool: the pool of the runs is only twin-a and twin-b.
  writeTargetFile(targetsDir, {
    name: 'single',
    image: 'busybox',
    power: { driver: 'qemu' },
    console: { kind: 'qemu-socket' },
    network: { kind: 'qemu-tap', mac: '52:54:00:c1:00:0c' },
    pools: ['others'],
  });
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

/**
 * A --pool run that reports the target it took (from its `pool` line) as soon as it takes one, and the target
 * its job record names (read when its board reaches its first milestone, while the job runs).
 */
function poolRun(): { run: ResultPromise; took: Promise<string>; recorded: () => string | undefined } {
  let tookTarget: (target: string) => void = () => {};
  const took = new Promise<string>((resolve) => (tookTarget = resolve));
  let recorded: string | undefined;
  const run = startHil(['--pool', 'twins', '--targets-dir', targetsDir, '--results', results], {
    env,
    onLine: (line, proc) => {
      const taken = /pool\s+took target (\S+) from pool twins$/.exec(line);
      if (taken) tookTarget(taken[1]!);
      if (recorded === undefined && /milestone\s+DHCP lease/.test(line))
        recorded = listJobs(env.PXE_HIL_RUNTIME_DIR).find((job) => job.record.pid === proc.pid)?.record.target ?? '';
    },
  });
  void run.then(() => tookTarget(''));
  return { run, took, recorded: () => recorded };
}

describe('pools of targets', () => {
  it('two jobs at once take different boards and pass; a third waits, naming the pool and the holders', async () => {
    const first = poolRun();
    const second = poolRun();
    const taken = await Promise.all([first.took, second.took]);
    expect(new Set(taken)).toEqual(new Set(['twin-a', 'twin-b']));
    const holderOf = (target: string) => (target === taken[0] ? first.run.pid : second.run.pid);
    let waitLine = '';
    const third = startHil(['--pool', 'twins', '--targets-dir', targetsDir, '--results', results], {
      env,
      onLine: (line, proc) => {
        if (!waitLine && /pool\s+every target of pool twins is held/.test(line)) {
          waitLine = line;
          proc.kill('SIGINT');
        }
      },
    });
    const waited = await third;
    expect(waitLine).toMatch(
      new RegExp(
        `pool\\s+every target of pool twins is held \\(twin-a: pid ${holderOf('twin-a')}, since [^;]+; twin-b: pid ${holderOf('twin-b')}, since [^)]+\\); waiting up to 600 s for the first free one$`,
      ),
    );
    // Interrupted while it waited: exit 130, no board taken, so no results of its own.
    expect(waited.exitCode, String(waited.all)).toBe(130);
    expect(String(waited.stdout)).not.toMatch(/^results: /m);

    const runs = await Promise.all([first.run, second.run]);
    // While each ran, its job record named the board it took.
    expect([first.recorded(), second.recorded()]).toEqual(taken);
    for (const [i, run] of runs.entries()) {
      const target = taken[i]!;
      const board = BOARDS.find((b) => b.name === target)!;
      expect(run.exitCode, String(run.all)).toBe(0);
      const dir = resultsDirOf(String(run.stdout));
      expect(dir.startsWith(join(results, target))).toBe(true);
      const logged = events(dir);
      expect(logged[0]).toMatchObject({ type: 'stage', stage: 'lock', state: 'start' });
      expect(logged.find((e) => e.type === 'pool')).toMatchObject({ pool: 'twins', state: 'taken', target });
      expect(logged.find((e) => e.type === 'run-start')).toMatchObject({ target, pool: 'twins' });
      // The board it booted is the one it took: its MAC is the only one its DHCP server saw.
      expect(new Set(logged.filter((e) => e.type === 'dhcp').map((e) => e.mac))).toEqual(new Set([board.mac]));
      const junit = readResult(dir, 'junit.xml');
      expect(junit).toContain(`<testsuite name="boot.${target}" `);
      expect(junit).toContain(`<property name="target" value="${target}"/>`);
      expect(junit).toContain('<property name="pool" value="twins"/>');
      expect(junit).toContain(`<property name="host" value="${hostname()}"/>`);
      expect(readResult(dir, 'allure-results/environment.properties')).toMatch(
        new RegExp(`^target=${target}\\n(.*\\n)*host=${hostname()}\\npool=twins\\n`),
      );
      expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
    }
    expect(listJobs(env.PXE_HIL_RUNTIME_DIR)).toEqual([]);
  }, 600_000);

  it('exits 3 naming the pool and its holders when no board is free within --lock-timeout', async () => {
    const holders = await Promise.all(BOARDS.map((b, i) => holder(b.name, `jenkins-pool-${i}`)));
    try {
      const before = readdirSync(results).sort();
      const run = await hil(
        ['--pool', 'twins', '--targets-dir', targetsDir, '--results', results, '--lock-timeout', '1'],
        { env },
      );
      expect(run.exitCode, run.stdout + run.stderr).toBe(3);
      const [a, b] = holders.map((h) => h.child.pid);
      expect(run.stdout).toMatch(
        new RegExp(
          `pool\\s+every target of pool twins is held \\(twin-a: pid ${a}, jenkins-pool-0, since [^;]+; twin-b: pid ${b}, jenkins-pool-1, since [^)]+\\); waiting up to 1 s for the first free one\\n`,
        ),
      );
      expect(run.stdout).toMatch(
        new RegExp(
          `result\\s+LAB-FAULT \\(exit 3\\): pool 'twins' has no free target after 1 s \\(twin-a: pid ${a}, jenkins-pool-0, since [^;]+; twin-b: pid ${b}, jenkins-pool-1, since [^)]+\\); try again later, raise --lock-timeout, or add a board to the pool$`,
        ),
      );
      expect(readdirSync(results).sort()).toEqual(before);
    } finally {
      for (const h of holders) {
        h.child.stdin?.write('release\n');
        await h.child;
      }
    }
  }, 60_000);

  it('names the known pools for an unknown one, and refuses --pool with --target (exit 2)', async () => {
    const unknown = await hil(['--pool', 'triplets', '--targets-dir', targetsDir, '--results', results], { env });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toBe(
      `pxe-hil: unknown pool 'triplets': no target file in ${targetsDir} names it in 'pools'. Known pools: others, twins`,
    );
    const both = await hil(['--pool', 'twins', '--target', 'twin-a', '--targets-dir', targetsDir], { env });
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toBe(
      'pxe-hil: --target and --pool do not go together: name one board (--target NAME) or ask for any free one of a pool (--pool NAME)',
    );
  }, 60_000);
});

/** A holder process of a target's lock (test/support/lock-holder.ts); resolves once it holds it. */
async function holder(target: string, build: string): Promise<{ child: ResultPromise }> {
  const child = execa(process.execPath, ['--import', 'tsx', 'test/support/lock-holder.ts', target], {
    cwd: REPO,
    env: { ...env, BUILD_TAG: build },
    stdin: 'pipe',
    reject: false,
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
    void child.then((r) => reject(new Error(`holder exited: ${r.stderr}`)));
  });
  return { child };
}
