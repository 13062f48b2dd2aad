import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listTargets, loadTarget, validateTarget } from '../../harness/config/load-target.js';
import { UsageError } from '../../harness/core/errors.js';
import { dnsmasqArguments, parseDhcpLog, type DhcpPlan } from '../../harness/pxe/dnsmasq.js';
import { labNetworkCommands, macvlanCommand, planLabNetwork, subnetOf } from '../../harness/pxe/lab-network.js';

function plan(overrides: Partial<DhcpPlan> = {}): DhcpPlan {
  return {
    interface: 'lab0',
    serverIp: '192.168.10.250',
    netmask: '255.255.255.0',
    subnet: '192.168.10.0',
    hosts: [{ mac: '52:54:00:a1:00:01', ip: '192.168.10.20', hostname: 'board1' }],
    pxeBootFile: 'pxelinux.0',
    ipxeScriptUrl: 'http://192.168.10.250/boot.ipxe',
    leaseFile: '/run/hil/j1/dnsmasq.leases',
    pidFile: '/run/hil/j1/dnsmasq.pid',
    ...overrides,
  };
}

const withPrefix = (args: string[], prefix: string) => args.filter((a) => a.startsWith(prefix));

describe('dnsmasqArguments in the two lab modes', () => {
  it("in 'dhcp' mode gives the board its fixed address, is authoritative and tells iPXE not to wait for proxy offers", () => {
    const args = dnsmasqArguments(plan({ mode: 'dhcp' }));
    expect(withPrefix(args, '--dhcp-range=')).toEqual(['--dhcp-range=192.168.10.0,static,255.255.255.0,1h']);
    expect(withPrefix(args, '--dhcp-host=')).toEqual(['--dhcp-host=52:54:00:a1:00:01,192.168.10.20,board1']);
    expect(args).toContain('--dhcp-authoritative');
    expect(args).toContain('--dhcp-option=tag:ipxe,encap:175,176,1');
    expect(withPrefix(args, '--pxe-service')).toEqual([]);
  });

  it('without a mode is the same as dhcp mode', () => {
    expect(dnsmasqArguments(plan())).toEqual(dnsmasqArguments(plan({ mode: 'dhcp' })));
  });

  it("in 'proxy' mode adds boot information only: a proxy range, no address for the board, not authoritative", () => {
    const args = dnsmasqArguments(plan({ mode: 'proxy' }));
    expect(withPrefix(args, '--dhcp-range=')).toEqual(['--dhcp-range=192.168.10.0,proxy,255.255.255.0']);
    expect(withPrefix(args, '--dhcp-host=')).toEqual(['--dhcp-host=52:54:00:a1:00:01,board1']);
    expect(args).not.toContain('--dhcp-authoritative');
    expect(args.filter((a) => a.includes('192.168.10.20'))).toEqual([]);
  });

  it("in 'proxy' mode still answers only the board's MAC", () => {
    expect(dnsmasqArguments(plan({ mode: 'proxy' }))).toContain('--dhcp-ignore=tag:!known');
    expect(dnsmasqArguments(plan({ mode: 'proxy', hosts: [] }))).toContain('--dhcp-ignore=tag:!known');
  });

  it("in 'proxy' mode never sends iPXE's no-pxedhcp setting, which would make iPXE skip the proxy offer", () => {
    const args = dnsmasqArguments(plan({ mode: 'proxy' }));
    expect(args.filter((a) => a.includes('175,176'))).toEqual([]);
  });

  it("in 'proxy' mode gives PXE ROMs a PXE service for pxelinux, and iPXE its script URL with the server as next server", () => {
    const args = dnsmasqArguments(plan({ mode: 'proxy' }));
    expect(withPrefix(args, '--pxe-service=')).toEqual([
      '--pxe-service=tag:!ipxe,x86PC,pxe-hil,pxelinux,192.168.10.250',
    ]);
    // Without a next server iPXE does not take the proxy offer as it is (it would ask again on port 4011).
    // U-Boot and Arm UEFI clients keep their own lines, after the x86 ones (dnsmasq takes the last match).
    expect(withPrefix(args, '--dhcp-boot=')).toEqual([
      '--dhcp-boot=tag:!ipxe,pxelinux.0,,192.168.10.250',
      '--dhcp-boot=tag:ipxe,http://192.168.10.250/boot.ipxe,,192.168.10.250',
      '--dhcp-boot=tag:uboot,,,192.168.10.250',
      '--dhcp-boot=tag:arm-efi,tag:!uboot,,,192.168.10.250',
    ]);
  });

  it("in 'dhcp' mode gives iPXE the script URL alone, as before", () => {
    expect(withPrefix(dnsmasqArguments(plan({ mode: 'dhcp' })), '--dhcp-boot=tag:ipxe')).toEqual([
      '--dhcp-boot=tag:ipxe,http://192.168.10.250/boot.ipxe',
    ]);
  });

  it("in 'proxy' mode sends no router advertisement even with an IPv6 prefix", () => {
    const args = dnsmasqArguments(plan({ mode: 'proxy', ipv6RaPrefix: 'fd42::' }));
    expect(args).not.toContain('--enable-ra');
    expect(args.filter((a) => a.includes('ra-only'))).toEqual([]);
  });
});

describe('parseDhcpLog of proxy replies', () => {
  it('reads a proxy offer to a board', () => {
    expect(parseDhcpLog('dnsmasq-dhcp[812]: 2045771839 PXE(lab0) 52:54:00:B7:00:0A proxy')).toEqual([
      { kind: 'proxy-offer', mac: '52:54:00:b7:00:0a', ignored: false },
    ]);
  });

  it('reads an ignored client', () => {
    expect(parseDhcpLog('dnsmasq-dhcp[812]: 2045771839 PXE(lab0) 52:54:00:b7:00:0c proxy-ignored')).toEqual([
      { kind: 'proxy-offer', mac: '52:54:00:b7:00:0c', ignored: true },
    ]);
  });
});

describe('the lab network plan', () => {
  const net = planLabNetwork('0badcafe', { interface: 'enp3s0', mode: 'proxy', serverAddress: '192.168.10.250/24' });

  it("serves from a macvlan named lab0 in the job's namespace, with the target's address", () => {
    expect(net).toEqual({
      kind: 'lab',
      netns: 'hil-0badcafe',
      interface: 'lab0',
      parent: 'enp3s0',
      parentNetns: undefined,
      mode: 'proxy',
      serverIp: '192.168.10.250',
      prefixLength: 24,
    });
  });

  it('creates the macvlan in bridge mode on the lab interface, directly inside the job namespace', () => {
    expect(macvlanCommand(net)).toEqual([
      'link',
      'add',
      'link',
      'enp3s0',
      'name',
      'lab0',
      'netns',
      'hil-0badcafe',
      'type',
      'macvlan',
      'mode',
      'bridge',
    ]);
  });

  it('finds the lab interface in its own namespace when the target names one', () => {
    const inNs = planLabNetwork('0badcafe', {
      interface: 'labbr0',
      netns: 'hil-test-lab-1',
      mode: 'proxy',
      serverAddress: '192.168.77.251/24',
    });
    expect(macvlanCommand(inNs)).toEqual([
      '-n',
      'hil-test-lab-1',
      'link',
      'add',
      'link',
      'labbr0',
      'name',
      'lab0',
      'netns',
      'hil-0badcafe',
      'type',
      'macvlan',
      'mode',
      'bridge',
    ]);
  });

  it('gives only the macvlan an address', () => {
    expect(labNetworkCommands(net)).toEqual([
      'link set lo up',
      'addr add 192.168.10.250/24 dev lab0',
      'link set lab0 up',
    ]);
  });

  it.each([
    [
      { serverIp: '192.168.10.250', prefixLength: 24 },
      { netmask: '255.255.255.0', subnet: '192.168.10.0' },
    ],
    [
      { serverIp: '10.20.35.7', prefixLength: 20 },
      { netmask: '255.255.240.0', subnet: '10.20.32.0' },
    ],
    [
      { serverIp: '172.16.5.130', prefixLength: 25 },
      { netmask: '255.255.255.128', subnet: '172.16.5.128' },
    ],
    [
      { serverIp: '10.1.2.3', prefixLength: 8 },
      { netmask: '255.0.0.0', subnet: '10.0.0.0' },
    ],
  ])('derives netmask and subnet of %j', (address, expected) => {
    expect(subnetOf(address)).toEqual(expected);
  });
});

function labTarget(
  network: Record<string, unknown>,
  power: Record<string, unknown> = { driver: 'command', on: 'true', off: 'true' },
): Record<string, unknown> {
  return {
    name: 'board-1',
    image: 'busybox',
    power,
    console: { kind: 'serial', path: '/dev/ttyUSB0' },
    network: { kind: 'lab', mac: '52:54:00:AB:00:01', ...network },
  };
}

function usageErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('network kind lab in a target', () => {
  it('accepts a proxy-mode board', () => {
    expect(
      validateTarget(
        labTarget({ interface: 'enp3s0', mode: 'proxy', serverAddress: '192.168.10.250/24' }),
        'targets/board-1.ts',
      ).network,
    ).toEqual({
      kind: 'lab',
      interface: 'enp3s0',
      mode: 'proxy',
      serverAddress: '192.168.10.250/24',
      mac: '52:54:00:ab:00:01',
    });
  });

  it('accepts a dhcp-mode board on a VLAN interface with its fixed address', () => {
    const network = validateTarget(
      labTarget({ interface: 'enp3s0.42', mode: 'dhcp', serverAddress: '10.42.7.1/24', boardAddress: '10.42.7.20' }),
      'targets/board-1.ts',
    ).network;
    expect(network).toEqual({
      kind: 'lab',
      interface: 'enp3s0.42',
      mode: 'dhcp',
      serverAddress: '10.42.7.1/24',
      boardAddress: '10.42.7.20',
      mac: '52:54:00:ab:00:01',
    });
  });

  it('needs the board address in dhcp mode', () => {
    expect(
      usageErrorOf(() =>
        validateTarget(
          labTarget({ interface: 'enp3s0', mode: 'dhcp', serverAddress: '10.42.7.1/24' }),
          'targets/board-1.ts',
        ),
      ),
    ).toBe(
      "targets/board-1.ts: field 'network.boardAddress': is missing: in 'dhcp' mode the job gives the board this fixed address (for example 192.168.10.20)",
    );
  });

  it('refuses a board address in proxy mode', () => {
    expect(
      usageErrorOf(() =>
        validateTarget(
          labTarget({ interface: 'enp3s0', mode: 'proxy', serverAddress: '10.42.7.1/24', boardAddress: '10.42.7.20' }),
          'targets/board-1.ts',
        ),
      ),
    ).toBe(
      "targets/board-1.ts: field 'network.boardAddress': is not used in 'proxy' mode (the lab's DHCP server gives the address): remove it",
    );
  });

  it('needs the prefix length on the server address', () => {
    expect(
      usageErrorOf(() =>
        validateTarget(
          labTarget({ interface: 'enp3s0', mode: 'proxy', serverAddress: '192.168.10.250' }),
          'targets/board-1.ts',
        ),
      ),
    ).toBe(
      "targets/board-1.ts: field 'network.serverAddress': expected an address with its prefix length such as 192.168.10.250/24",
    );
  });

  it('refuses an interface name longer than Linux allows', () => {
    expect(
      usageErrorOf(() =>
        validateTarget(
          labTarget({ interface: 'enp3s0f0np0.1234', mode: 'proxy', serverAddress: '192.168.10.250/24' }),
          'targets/board-1.ts',
        ),
      ),
    ).toBe(
      "targets/board-1.ts: field 'network.interface': expected an interface name such as enp3s0 or enp3s0.42 (at most 15 characters)",
    );
  });

  it('needs a QEMU board on a lab network to name its tap', () => {
    expect(
      usageErrorOf(() =>
        validateTarget(
          labTarget({ interface: 'labbr0', mode: 'proxy', serverAddress: '192.168.77.251/24' }, { driver: 'qemu' }),
          'targets/board-1.ts',
        ),
      ),
    ).toBe(
      "targets/board-1.ts: field 'power.tap': is missing: a QEMU board on a lab network needs the tap device on that network (power.tap)",
    );
  });
});

describe('the targets directory', () => {
  it('holds the example real board', async () => {
    expect(await listTargets()).toContain('board1');
  });

  it('has only files that load and validate', async () => {
    const names = await listTargets();
    const loaded = await Promise.all(names.map(async (name) => (await loadTarget(name)).name));
    expect(loaded).toEqual(names);
  });

  it('wires board1 to a lab interface in proxy mode, power and console secrets by name only', async () => {
    const board1 = await loadTarget('board1');
    expect(board1.network).toMatchObject({ kind: 'lab', interface: 'enp3s0', mode: 'proxy' });
    expect(board1.console.kind).toBe('serial');
    // The BMC password is named by its environment variable; the schema has no field for the password itself.
    expect(board1.power).toMatchObject({ driver: 'ipmi', passwordEnv: 'BOARD1_BMC_PASSWORD' });
  });
});

describe('server addresses on one lab interface', () => {
  const labTarget = (name: string, serverAddress: string, mac: string) =>
    `export default ${JSON.stringify({
      name,
      image: 'busybox',
      power: { driver: 'command', on: 'true', off: 'true' },
      console: { kind: 'tcp', host: '127.0.0.1', port: 7000 },
      network: { kind: 'lab', interface: 'enp3s0', mode: 'proxy', serverAddress, mac },
    })};\n`;

  it('refuses a target whose server address another target on the same interface has, naming both files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-targets-'));
    try {
      writeFileSync(join(dir, 'board-a.ts'), labTarget('board-a', '192.168.10.250/24', '52:54:00:a1:00:01'));
      writeFileSync(join(dir, 'board-b.ts'), labTarget('board-b', '192.168.10.250/24', '52:54:00:a1:00:02'));
      writeFileSync(join(dir, 'board-c.ts'), labTarget('board-c', '192.168.10.251/24', '52:54:00:a1:00:03'));
      writeFileSync(join(dir, 'broken.ts'), 'export default { name: 1 };\n');
      const error = await loadTarget('board-a', dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe(
        `${join(dir, 'board-a.ts')}: field 'network.serverAddress': 192.168.10.250 on enp3s0 is also ${join(dir, 'board-b.ts')}'s; give every target on one interface its own server address`,
      );
      // Its own address, and a broken neighbour that is not loaded for itself: fine.
      expect((await loadTarget('board-c', dir)).network).toMatchObject({ serverAddress: '192.168.10.251/24' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
