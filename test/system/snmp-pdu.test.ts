/**
 * The SNMP PDU driver against a real agent: net-snmp's snmpd on 127.0.0.1,
 * with a pass handler that serves the APC outlet objects from files.
 */
import { randomBytes } from 'node:crypto';
import { execaSync } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LabFault, UsageError } from '../../harness/core/errors.js';
import { EventBus, type StepEvent } from '../../harness/core/events.js';
import type { SnmpPduPowerConfig } from '../../harness/config/target.js';
import { SnmpPduPower } from '../../harness/power/snmp-pdu.js';
import { freeUdpPort } from '../support/ipmi-sim.js';
import { Snmpd } from '../support/snmpd.js';

const COMMUNITY = `rw-${randomBytes(6).toString('hex')}`;
const ENV_NAME = 'HIL_TEST_PDU_COMMUNITY';
const RPDU_CONTROL = '.1.3.6.1.4.1.318.1.1.12.3.3.1.1.4';
const SPDU_CONTROL = '.1.3.6.1.4.1.318.1.1.4.4.2.1.3';
let agent: Snmpd;

beforeAll(async () => {
  agent = await Snmpd.start(COMMUNITY);
});

afterAll(async () => {
  const pid = agent?.pid;
  await agent?.stop();
  if (pid) expect(execaSync('ps', ['-p', String(pid)], { reject: false }).exitCode).toBe(1);
});

beforeEach(() => {
  agent.setStuck(false);
  agent.clearCalls();
});

function config(overrides: Partial<SnmpPduPowerConfig> = {}): SnmpPduPowerConfig {
  return {
    driver: 'snmp-pdu',
    host: '127.0.0.1',
    port: agent.port,
    profile: 'apc-rpdu',
    outlet: 3,
    auth: { version: '2c', communityEnv: ENV_NAME },
    requestTimeoutS: 1,
    retries: 1,
    confirmTimeoutS: 5,
    offTimeS: 0,
    ...overrides,
  };
}

function driver(
  overrides: Partial<SnmpPduPowerConfig> = {},
  community = COMMUNITY,
): { power: SnmpPduPower; events: StepEvent[] } {
  const bus = new EventBus();
  const events: StepEvent[] = [];
  bus.subscribe((event) => events.push(event));
  return {
    power: new SnmpPduPower(config(overrides), { bus, env: { [ENV_NAME]: community }, pollIntervalMs: 100 }),
    events,
  };
}

async function faultOf(promise: Promise<unknown>): Promise<LabFault> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LabFault);
  return error as LabFault;
}

// On, off, cycle and the read-back are the contract of every driver: test/system/power-contract.test.ts.
describe('SNMP PDU power against snmpd', () => {
  it('switches an APC rPDU outlet off and on and reads it back', async () => {
    agent.setOutlet(3, '1');
    const { power } = driver();
    await power.off();
    expect(agent.outlet(3)).toBe('2');
    expect(await power.status()).toBe('off');
    await power.on();
    expect(agent.outlet(3)).toBe('1');
    expect(await power.status()).toBe('on');
    expect(agent.sets()).toEqual([`${RPDU_CONTROL}.3 integer 2`, `${RPDU_CONTROL}.3 integer 1`]);
    expect(agent.outlet(4)).toBe('1'); // the neighbour was not touched
  });

  it('drives an older APC sPDU through sPDUOutletCtl', async () => {
    agent.setOutlet(2, '1');
    const { power } = driver({ profile: 'apc-spdu', outlet: 2 });
    await power.off();
    expect(agent.outlet(2)).toBe('2');
    expect(await power.status()).toBe('off');
    expect(agent.sets()).toEqual([`${SPDU_CONTROL}.2 integer 2`]);
  });

  it('calls an outlet that accepts the command but does not switch a lab fault', async () => {
    agent.setOutlet(3, '1');
    agent.setStuck(true);
    const { power } = driver({ confirmTimeoutS: 1 });
    const fault = await faultOf(power.off());
    expect(fault.message).toBe('PDU 127.0.0.1 outlet 3 did not switch off: it still reads on 1 s after the command');
  });

  it('reports a community that may only read as a refused set', async () => {
    const { power } = driver({}, 'public');
    const fault = await faultOf(power.off());
    expect(fault.message).toMatch(/^PDU 127\.0\.0\.1 refused SNMP set of outlet 3: /);
    expect(agent.sets()).toEqual([]);
  });

  it('reports a wrong community as a PDU that does not answer, without the community', async () => {
    const wrong = `${COMMUNITY}-wrong`;
    const { power } = driver({ requestTimeoutS: 1, retries: 0 }, wrong);
    const fault = await faultOf(power.status());
    expect(fault.message).toBe(
      'PDU 127.0.0.1 did not answer SNMP get for outlet 3: not reachable, or it does not accept this community/user',
    );
    expect(fault.message).not.toContain(COMMUNITY);
  });

  it('names an outlet the PDU does not have', async () => {
    const { power } = driver({ outlet: 30 });
    const fault = await faultOf(power.status());
    expect(fault.message).toMatch(/^PDU 127\.0\.0\.1 has no outlet 30 \(/);
  });

  it('names a PDU nobody answers for', async () => {
    const { power } = driver({ port: await freeUdpPort(), requestTimeoutS: 1, retries: 0 });
    const fault = await faultOf(power.on());
    expect(fault.message).toBe(
      'PDU 127.0.0.1 did not answer SNMP set for outlet 3: not reachable, or it does not accept this community/user',
    );
  });

  it('refuses to start without the community variable', () => {
    expect(() => new SnmpPduPower(config(), { env: {} })).toThrow(UsageError);
    expect(() => new SnmpPduPower(config(), { env: {} })).toThrow(
      `environment variable ${ENV_NAME} is not set: it must hold the SNMP community for PDU 127.0.0.1`,
    );
  });
});
