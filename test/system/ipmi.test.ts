/**
 * The IPMI power driver against a real BMC: OpenIPMI's ipmi_sim on
 * 127.0.0.1, driven by the real ipmitool. Its chassis control script keeps
 * the power line and boot device in files, so each test checks what the BMC
 * was told to do, not only what the driver says.
 */
import { randomBytes } from 'node:crypto';
import { execaSync } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LabFault, UsageError } from '../../harness/core/errors.js';
import { EventBus, type StepEvent } from '../../harness/core/events.js';
import type { IpmiPowerConfig } from '../../harness/config/target.js';
import { IpmiPower } from '../../harness/power/ipmi.js';
import { freeUdpPort, IpmiSim } from '../support/ipmi-sim.js';

// IPMI passwords are at most 20 bytes.
const PASSWORD = `pw-${randomBytes(5).toString('hex')}`;
const ENV_NAME = 'HIL_TEST_BMC_PASSWORD';
let sim: IpmiSim;

beforeAll(async () => {
  sim = await IpmiSim.start('hiladmin', PASSWORD);
});

afterAll(async () => {
  const pid = sim?.pid;
  await sim?.stop();
  if (pid) expect(execaSync('ps', ['-p', String(pid)], { reject: false }).exitCode).toBe(1);
});

beforeEach(() => {
  sim.setSlow(false);
  sim.setStuck(false);
  sim.clearCalls();
});

function config(overrides: Partial<IpmiPowerConfig> = {}): IpmiPowerConfig {
  return {
    driver: 'ipmi',
    host: '127.0.0.1',
    port: sim.port,
    username: sim.username,
    passwordEnv: ENV_NAME,
    cipherSuites: [3],
    bootdev: { persistent: false, efi: false },
    requestTimeoutS: 1,
    requestRetries: 1,
    attempts: 3,
    retryBackoffMs: 100,
    confirmTimeoutS: 10,
    offTimeS: 0,
    ...overrides,
  };
}

function driver(
  overrides: Partial<IpmiPowerConfig> = {},
  password = PASSWORD,
): { power: IpmiPower; events: StepEvent[] } {
  const bus = new EventBus();
  const events: StepEvent[] = [];
  bus.subscribe((event) => events.push(event));
  const power = new IpmiPower(config(overrides), { bus, env: { [ENV_NAME]: password }, pollIntervalMs: 100 });
  return { power, events };
}

const commands = (events: StepEvent[]) => events.filter((e) => e.type === 'command');
const warnings = (events: StepEvent[]) => events.flatMap((e) => (e.type === 'warning' ? [e.message] : []));

async function faultOf(promise: Promise<unknown>): Promise<LabFault> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LabFault);
  return error as LabFault;
}

// On, off, cycle and the read-back are the contract of every driver: test/system/power-contract.test.ts.
describe('IPMI power against ipmi_sim', () => {
  it('sets the boot device to PXE before a netboot', async () => {
    const { power, events } = driver({ bootdev: { persistent: true, efi: true } });
    await power.prepareNetboot();
    expect(sim.sets()).toEqual(['set boot pxe']);
    expect(sim.bootDevice()).toBe('pxe');
    const sent = commands(events).map((e) => (e.type === 'command' ? e.command : ''));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/ chassis bootdev pxe options=persistent,efiboot$/);
  });

  it('falls back to the next cipher suite when the BMC refuses the first, and keeps it', async () => {
    const { power, events } = driver({ cipherSuites: [17, 3] });
    expect(await power.status()).toBe(sim.powerLine() === '1' ? 'on' : 'off');
    expect(power.cipherSuite).toBe(3);
    expect(warnings(events)).toEqual(['IPMI 127.0.0.1 refused cipher suite 17; using 3']);
    await power.status();
    expect(commands(events)).toHaveLength(3); // 17 refused, 3 accepted, then 3 directly
  });

  it('reports a wrong password as an authentication failure at once, without retrying', async () => {
    const wrong = `${PASSWORD}x`;
    const { power, events } = driver({}, wrong);
    const fault = await faultOf(power.status());
    expect(fault.exitCode).toBe(3);
    expect(fault.message).toBe(
      `IPMI authentication failed for 127.0.0.1: check the user 'hiladmin' and the password in ${ENV_NAME}`,
    );
    expect(commands(events)).toHaveLength(1);
    expect(warnings(events)).toEqual([]);
    expect(fault.message).not.toContain(wrong);
    expect(fault.message).not.toContain(PASSWORD);
  });

  it('retries a BMC that does not answer, with backoff, then names the host in a lab fault', async () => {
    const deadPort = await freeUdpPort();
    const { power, events } = driver({ port: deadPort, requestTimeoutS: 1, requestRetries: 1, attempts: 3 });
    const fault = await faultOf(power.off());
    expect(fault.message).toMatch(/^IPMI BMC 127\.0\.0\.1 did not answer 'chassis power off' after 3 attempts: /);
    expect(fault.message).not.toContain(PASSWORD);
    expect(commands(events)).toHaveLength(3);
    expect(warnings(events)).toEqual([
      "IPMI 127.0.0.1 did not answer 'chassis power off' (attempt 1 of 3); retrying in 0.1 s",
      "IPMI 127.0.0.1 did not answer 'chassis power off' (attempt 2 of 3); retrying in 0.2 s",
    ]);
  });

  it('calls an action the BMC accepts but does not carry out a lab fault', async () => {
    const { power } = driver({ confirmTimeoutS: 1 });
    await power.on();
    sim.setStuck(true);
    const fault = await faultOf(power.off());
    expect(fault.message).toBe('IPMI power off of 127.0.0.1 not confirmed: the BMC still reports power on after 1 s');
    expect(sim.powerLine()).toBe('1');
  });

  it('never puts the password on a command line', async () => {
    const { power } = driver({ requestTimeoutS: 5 });
    sim.setSlow(true); // each chassis call takes a second, so ipmitool is running while ps looks
    const call = power.status();
    let finished = false;
    void call.finally(() => (finished = true));
    const snapshots: string[] = [];
    let sawIpmitool = false;
    while (!finished) {
      const ps = execaSync('ps', ['-eo', 'args']).stdout;
      snapshots.push(ps);
      if (ps.split('\n').some((line) => line.startsWith('ipmitool ') && line.includes(`-p ${sim.port}`)))
        sawIpmitool = true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await call;
    expect(sawIpmitool).toBe(true);
    for (const snapshot of snapshots) expect(snapshot).not.toContain(PASSWORD);
  });

  it('refuses to start without the password variable, naming it', () => {
    expect(() => new IpmiPower(config(), { env: {} })).toThrow(UsageError);
    expect(() => new IpmiPower(config(), { env: {} })).toThrow(
      `environment variable ${ENV_NAME} is not set: it must hold the BMC password for 127.0.0.1`,
    );
  });
});
