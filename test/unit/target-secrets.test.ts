/**
 * Every secret a target names is registered for redaction when the target is
 * loaded: BMC passwords (IPMI power, an SOL console's own BMC), SNMP
 * communities and SNMPv3 keys, the variables a command driver's commands read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadTarget } from '../../harness/config/load-target.js';
import { secretEnvNames } from '../../harness/config/target-secrets.js';
import { clearSecrets, redact } from '../../harness/core/redact.js';

let dir: string;
const saved = { ...process.env };

const base = {
  image: 'busybox',
  network: {
    kind: 'lab',
    interface: 'eth1',
    mode: 'dhcp',
    serverAddress: '10.9.0.1/24',
    boardAddress: '10.9.0.2',
    mac: '52:54:00:00:00:01',
  },
};

const TARGETS = {
  'ipmi-sol': {
    ...base,
    power: { driver: 'ipmi', host: 'bmc-1', username: 'admin', passwordEnv: 'T_BMC_PASSWORD' },
    console: { kind: 'ipmi-sol', host: 'bmc-2', username: 'admin', passwordEnv: 'T_SOL_PASSWORD' },
  },
  'snmp-v2': {
    ...base,
    power: {
      driver: 'snmp-pdu',
      host: 'pdu-1',
      profile: 'apc-rpdu',
      outlet: 3,
      auth: { version: '2c', communityEnv: 'T_COMMUNITY' },
    },
    console: { kind: 'tcp', host: 'cs-1', port: 7001 },
  },
  'snmp-v3': {
    ...base,
    power: {
      driver: 'snmp-pdu',
      host: 'pdu-1',
      profile: 'apc-rpdu',
      outlet: 3,
      auth: { version: '3', user: 'hil', authKeyEnv: 'T_AUTH_KEY', privKeyEnv: 'T_PRIV_KEY' },
    },
    console: { kind: 'tcp', host: 'cs-1', port: 7001 },
  },
  relay: {
    ...base,
    power: { driver: 'command', on: 'relay on', off: 'relay off', secretEnv: ['T_RELAY_TOKEN', 'T_RELAY_USER'] },
    console: { kind: 'tcp', host: 'cs-1', port: 7001 },
  },
};

const VALUES: Record<string, string> = {
  T_BMC_PASSWORD: 'bmc-pass-1111',
  T_SOL_PASSWORD: 'sol-pass-2222',
  T_COMMUNITY: 'community-3333',
  T_AUTH_KEY: 'auth-key-4444',
  T_PRIV_KEY: 'priv-key-5555',
  T_RELAY_TOKEN: 'relay-token-6666',
  T_RELAY_USER: 'relay-user-7777',
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-target-secrets-'));
  // Each target on its own interface, so that no two share a server address.
  Object.entries(TARGETS).forEach(([name, target], i) => {
    const network = { ...target.network, interface: `eth${i + 1}` };
    writeFileSync(join(dir, `${name}.ts`), `export default ${JSON.stringify({ name, ...target, network })};\n`);
  });
  Object.assign(process.env, VALUES);
});

afterEach(() => clearSecrets());

afterAll(() => {
  for (const name of Object.keys(VALUES)) if (!(name in saved)) delete process.env[name];
  rmSync(dir, { recursive: true, force: true });
});

const everyValue = Object.values(VALUES).join(' ');

describe('secrets a target names', () => {
  it.each([
    ['ipmi-sol', ['T_BMC_PASSWORD', 'T_SOL_PASSWORD']],
    ['snmp-v2', ['T_COMMUNITY']],
    ['snmp-v3', ['T_AUTH_KEY', 'T_PRIV_KEY']],
    ['relay', ['T_RELAY_TOKEN', 'T_RELAY_USER']],
  ])('%s: its variables are registered at load, and no others', async (name, names) => {
    expect(redact(everyValue)).toBe(everyValue);
    const target = await loadTarget(name, dir);
    expect(secretEnvNames(target)).toEqual(names);
    const expected = Object.entries(VALUES)
      .map(([variable, value]) => (names.includes(variable) ? '***' : value))
      .join(' ');
    expect(redact(everyValue)).toBe(expected);
  });
});
