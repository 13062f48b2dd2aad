/**
 * End to end through a smart PDU: a QEMU board whose power is an APC outlet
 * switched only over SNMP. net-snmp's snmpd is the PDU; its outlet handler
 * starts and stops QEMU in the network namespace of the job that holds the
 * target, so the run cycles the outlet over SNMP (off, read back, on, read
 * back), the board netboots from the job, and the outlet goes off at the end.
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
import { Snmpd } from '../support/snmpd.js';

const COMMUNITY_ENV = 'QEMU_PDU_COMMUNITY';
const COMMUNITY = `pdu${process.pid}rw`;
const OUTLET = 5;
const CONTROL = `.1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.${OUTLET}`;
let agent: Snmpd;
let targetsDir: string;
let results: string;

beforeAll(async () => {
  agent = await Snmpd.start(COMMUNITY, { target: 'qemu-pdu', runtimeDir: runtimeRoot(), outlet: OUTLET });
  targetsDir = mkdtempSync(join(tmpdir(), 'hil-pdu-targets-'));
  results = resultsRoot();
  writeTargetFile(targetsDir, {
    name: 'qemu-pdu',
    description: 'QEMU board on an APC PDU outlet (snmpd)',
    image: 'busybox',
    power: {
      driver: 'snmp-pdu',
      host: '127.0.0.1',
      port: agent.port,
      profile: 'apc-rpdu',
      outlet: OUTLET,
      auth: { version: '2c', communityEnv: COMMUNITY_ENV },
      offTimeS: 1,
    },
    console: { kind: 'qemu-socket' },
    network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:27' },
  });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  rmSync(targetsDir, { recursive: true, force: true });
  rmSync(results, { recursive: true, force: true });
});

describe('netboot of a board on a PDU outlet switched over SNMP', () => {
  it('cycles the outlet over SNMP, boots from the job, and switches the outlet off at the end', async () => {
    const run = await hil(['--target', 'qemu-pdu', '--targets-dir', targetsDir, '--results', results], {
      env: { [COMMUNITY_ENV]: COMMUNITY },
    });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const dir = resultsDirOf(run.stdout);
    const logged = events(dir);
    expect(logged.filter((e) => e.type === 'power').map((e) => [e.action, e.ok])).toEqual([
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
    // What the PDU was told for the board's outlet: off and on (the cycle), then off at the end.
    expect(agent.sets().filter((set) => set.startsWith(CONTROL))).toEqual([
      `${CONTROL} integer 2`,
      `${CONTROL} integer 1`,
      `${CONTROL} integer 2`,
    ]);
    // The QEMU the PDU started carries the job id in its name: gone with the job, like everything else.
    expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
    expect(run.stdout + run.stderr).not.toContain(COMMUNITY);
  }, 300_000);
});
