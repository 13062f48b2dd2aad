import { describe, expect, it } from 'vitest';
import {
  ipArgument,
  netmaskOf,
  nfsRootArguments,
  nfsRootProblems,
  type NfsRootPlan,
} from '../../harness/pxe/nfs-root-cmdline.js';

const fixed = { kind: 'static', ip: '10.42.0.10', prefixLength: 24, hostname: 'board' } as const;

function plan(overrides: Partial<NfsRootPlan> = {}): NfsRootPlan {
  return { style: 'initramfs', serverIp: '10.42.0.1', path: '/rootfs', address: fixed, ...overrides };
}

describe('nfsRootArguments', () => {
  it("gives Debian's initramfs boot=nfs, NFSv3 options klibc's nfsmount takes, a fixed eth0 and net.ifnames=0", () => {
    expect(nfsRootArguments(plan())).toEqual([
      'boot=nfs',
      'root=/dev/nfs',
      'nfsroot=10.42.0.1:/rootfs,v3,tcp,noacl',
      'ip=10.42.0.10:10.42.0.1::255.255.255.0:board:eth0:off',
      'net.ifnames=0',
      'rw',
    ]);
  });

  it("gives the kernel's own NFS root the version, nolock and noacl, and DHCP when asked", () => {
    expect(nfsRootArguments(plan({ style: 'kernel', address: { kind: 'dhcp' }, readOnly: true }))).toEqual([
      'root=/dev/nfs',
      'nfsroot=10.42.0.1:/rootfs,vers=3,tcp,nolock,noacl',
      'ip=dhcp',
      'ro',
    ]);
    expect(nfsRootArguments(plan({ style: 'kernel', version: 4 }))).toEqual([
      'root=/dev/nfs',
      'nfsroot=10.42.0.1:/rootfs,vers=4,tcp',
      'ip=10.42.0.10:10.42.0.1::255.255.255.0:board:eth0:off',
      'rw',
    ]);
  });

  it('refuses NFSv4 for the initramfs, a path with a comma, and a bad prefix', () => {
    expect(
      nfsRootProblems(
        plan({ version: 4, path: '/root,fs', address: { kind: 'static', ip: '10.0.0.2', prefixLength: 31 } }),
      ),
    ).toEqual([
      "Debian's initramfs mounts an NFS root over NFSv3 only (klibc nfsmount): use version 3, or the kernel's own NFS root",
      "the NFS root path '/root,fs' must be absolute, without spaces, commas or colons",
      "the board's prefix length /31 is not one from /1 to /30",
    ]);
    expect(() => nfsRootArguments(plan({ version: 4 }))).toThrow(/NFSv3 only/);
  });
});

describe('ip= and netmasks', () => {
  it('writes prefix lengths as netmasks', () => {
    expect([8, 16, 20, 24, 30].map(netmaskOf)).toEqual([
      '255.0.0.0',
      '255.255.0.0',
      '255.255.240.0',
      '255.255.255.0',
      '255.255.255.252',
    ]);
  });

  it('names the gateway and the device when given', () => {
    expect(
      ipArgument(
        { kind: 'static', ip: '192.168.7.20', prefixLength: 24, gateway: '192.168.7.1', device: 'enp1s0' },
        '192.168.7.2',
      ),
    ).toBe('ip=192.168.7.20:192.168.7.2:192.168.7.1:255.255.255.0::enp1s0:off');
  });
});
