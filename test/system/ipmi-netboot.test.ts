/**
 * End to end through a BMC: a QEMU board whose power is switched only over
 * IPMI. OpenIPMI's ipmi_sim is the BMC; its chassis control starts and stops
 * QEMU in the network namespace of the job that holds the target, so the run
 * goes: bootdev pxe and a power cycle over IPMI, then the netboot from the
 * job's own PXE server, then power off over IPMI at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeRoot } from '../../harness/core/paths.js';
import {
  events,
  hil,
  jobIdOf,
  NO_RESIDUE,
  residueOf,
  resultsDirOf,
  resultsRoot,
  writeTargetFile,
} from '../support/hil.js';
import { IpmiSim } from '../support/ipmi-sim.js';

const PASSWORD_ENV = 'QEMU_IPMI_BMC_PASSWORD';
const PASSWORD = `bmc-${process.pid}-pass`;
let sim: IpmiSim;
let targetsDir: string;
let results: string;

beforeAll(async () => {
  sim = await IpmiSim.start('hiladmin', PASSWORD, { target: 'qemu-ipmi', runtimeDir: runtimeRoot() });
  targetsDir = mkdtempSync(join(tmpdir(), 'hil-ipmi-targets-'));
  results = resultsRoot();
  writeTargetFile(targetsDir, {
    name: 'qemu-ipmi',
    description: 'QEMU board behind an IPMI BMC (ipmi_sim)',
    image: 'busybox',
    power: {
      driver: 'ipmi',
      host: '127.0.0.1',
      port: sim.port,
      username: 'hiladmin',
      passwordEnv: PASSWORD_ENV,
      cipherSuites: [3],
      offTimeS: 0,
    },
    console: { kind: 'qemu-socket' },
    network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:17' },
  });
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  rmSync(targetsDir, { recursive: true, force: true });
  rmSync(results, { recursive: true, force: true });
});

describe('netboot of a board switched over IPMI', () => {
  it('sets PXE boot, cycles the power over IPMI, boots from the job, and powers off at the end', async () => {
    const run = await hil(['--target', 'qemu-ipmi', '--targets-dir', targetsDir, '--results', results], {
      env: { [PASSWORD_ENV]: PASSWORD },
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const dir = resultsDirOf(run.stdout);
    const logged = events(dir);
    expect(logged.filter((e) => e.type === 'power').map((e) => [e.action, e.ok])).toEqual([
      ['bootdev', true],
      ['cycle', true],
      ['off', true],
    ]);
    expect(logged.filter((e) => e.type === 'milestone').map((e) => e.name)).toEqual([
      'DHCP lease',
      'kernel fetched',
      'initrd fetched',
      'Linux version',
      'init started',
      'shell prompt',
    ]);
    // What the BMC was told, in order: PXE boot, off, on, and off at the end.
    expect(sim.sets()).toEqual(['set boot pxe', 'set power 0', 'set power 1', 'set power 0']);
    // The QEMU the BMC started carries the job id in its name: gone with the job, like everything else.
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  }, 300_000);
});
