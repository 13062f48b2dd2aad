import { describe, expect, it } from 'vitest';
import type { ArchBoot } from '../../harness/pxe/client-arch.js';
import { dnsmasqArguments, parseDhcpLog, type DhcpPlan } from '../../harness/pxe/dnsmasq.js';

function plan(overrides: Partial<DhcpPlan> = {}): DhcpPlan {
  return {
    interface: 'br0',
    serverIp: '10.42.0.1',
    netmask: '255.255.255.0',
    subnet: '10.42.0.0',
    hosts: [{ mac: '52:54:00:a1:00:01', ip: '10.42.0.10', hostname: 'qemu-x86' }],
    pxeBootFile: 'pxelinux.0',
    leaseFile: '/run/hil/j1/dnsmasq.leases',
    pidFile: '/run/hil/j1/dnsmasq.pid',
    ...overrides,
  };
}

const withPrefix = (args: string[], prefix: string) => args.filter((a) => a.startsWith(prefix));

describe('dnsmasqArguments', () => {
  it('runs DHCP only: no DNS, no config file but /dev/null, logs to stderr, bound to the interface', () => {
    const args = dnsmasqArguments(plan());
    expect(args).toContain('--port=0');
    expect(args).toContain('--no-resolv');
    expect(args).toContain('--no-hosts');
    expect(args).toContain('--keep-in-foreground');
    expect(args).toContain('--log-facility=-');
    expect(args).toContain('--interface=br0');
    expect(args).toContain('--bind-interfaces');
    expect(args).toContain('--dhcp-leasefile=/run/hil/j1/dnsmasq.leases');
    expect(args).toContain('--pid-file=/run/hil/j1/dnsmasq.pid');
    expect(args).toContain('--dhcp-range=10.42.0.0,static,255.255.255.0,1h');
    expect(withPrefix(args, '--conf-file')).toEqual(['--conf-file=/dev/null']);
    expect(withPrefix(args, '--conf-dir')).toEqual([]);
    expect(withPrefix(args, '--enable-tftp')).toEqual([]);
  });

  it('answers only known MACs, with one --dhcp-host per host', () => {
    const hosts = [
      { mac: '52:54:00:a1:00:01', ip: '10.42.0.10', hostname: 'qemu-x86' },
      { mac: '52:54:00:a1:00:02', ip: '10.42.0.11', hostname: 'qemu-x86-pxelinux' },
    ];
    const args = dnsmasqArguments(plan({ hosts }));
    expect(args).toContain('--dhcp-ignore=tag:!known');
    expect(withPrefix(args, '--dhcp-host=')).toEqual([
      '--dhcp-host=52:54:00:a1:00:01,10.42.0.10,qemu-x86',
      '--dhcp-host=52:54:00:a1:00:02,10.42.0.11,qemu-x86-pxelinux',
    ]);
  });

  it('has no --dhcp-host without hosts, and still ignores unknown clients', () => {
    const args = dnsmasqArguments(plan({ hosts: [] }));
    expect(withPrefix(args, '--dhcp-host=')).toEqual([]);
    expect(args).toContain('--dhcp-ignore=tag:!known');
  });

  it('gives iPXE clients the script URL and other clients the PXE file when there is a script', () => {
    const args = dnsmasqArguments(plan({ ipxeScriptUrl: 'http://10.42.0.1:8080/boot.ipxe' }));
    expect(args).toContain('--dhcp-userclass=set:ipxe,iPXE');
    expect(args).toContain('--dhcp-match=set:ipxe,175');
    expect(withPrefix(args, '--dhcp-boot=')).toEqual([
      '--dhcp-boot=tag:!ipxe,pxelinux.0,,10.42.0.1',
      '--dhcp-boot=tag:ipxe,http://10.42.0.1:8080/boot.ipxe',
      // U-Boot and Arm UEFI clients (test/unit/uboot-commands.test.ts): never pxelinux.0.
      '--dhcp-boot=tag:uboot,,,10.42.0.1',
      '--dhcp-boot=tag:arm-efi,tag:!uboot,,,10.42.0.1',
    ]);
    // The URL is never offered to a client that is not tagged iPXE.
    const withUrl = args.filter((a) => a.includes('http://10.42.0.1:8080/boot.ipxe'));
    expect(withUrl).toEqual(['--dhcp-boot=tag:ipxe,http://10.42.0.1:8080/boot.ipxe']);
  });

  it('gives every client one plain PXE boot file when there is no script', () => {
    const args = dnsmasqArguments(plan());
    expect(withPrefix(args, '--dhcp-boot=')).toEqual([
      '--dhcp-boot=pxelinux.0,,10.42.0.1',
      '--dhcp-boot=tag:uboot,,,10.42.0.1',
      '--dhcp-boot=tag:arm-efi,tag:!uboot,,,10.42.0.1',
    ]);
  });

  const archBoots: ArchBoot[] = [
    { tag: 'arch-bios', codes: [0], over: 'tftp', file: 'undionly.kpxe' },
    { tag: 'arch-efi-x64', codes: [7, 9], over: 'tftp', file: 'ipxe.efi' },
    { tag: 'arch-efi-x64-http', codes: [16], over: 'http', file: 'http://10.42.0.1/ipxe.efi' },
  ];

  it('tags each client architecture from option 93 and gives each tag its boot file; iPXE still gets the script', () => {
    const args = dnsmasqArguments(plan({ ipxeScriptUrl: 'http://10.42.0.1/boot.ipxe', archBoots }));
    expect(withPrefix(args, '--dhcp-match=')).toEqual([
      '--dhcp-match=set:ipxe,175',
      '--dhcp-match=set:arch-bios,option:client-arch,0',
      '--dhcp-match=set:arch-efi-x64,option:client-arch,7',
      '--dhcp-match=set:arch-efi-x64,option:client-arch,9',
      '--dhcp-match=set:arch-efi-x64-http,option:client-arch,16',
      // U-Boot and Arm UEFI clients are always told apart, so that no x86 line answers them.
      '--dhcp-match=set:uboot,option:client-arch,21',
      '--dhcp-match=set:uboot,option:client-arch,22',
      '--dhcp-match=set:arm-efi,option:client-arch,10',
      '--dhcp-match=set:arm-efi,option:client-arch,11',
    ]);
    expect(withPrefix(args, '--dhcp-boot=')).toEqual([
      '--dhcp-boot=tag:!ipxe,tag:arch-bios,undionly.kpxe,,10.42.0.1',
      '--dhcp-boot=tag:!ipxe,tag:arch-efi-x64,ipxe.efi,,10.42.0.1',
      '--dhcp-boot=tag:!ipxe,tag:arch-efi-x64-http,http://10.42.0.1/ipxe.efi',
      // No option 93, or one the table does not know: the plain PXE file.
      '--dhcp-boot=tag:!ipxe,tag:!arch-bios,tag:!arch-efi-x64,tag:!arch-efi-x64-http,pxelinux.0,,10.42.0.1',
      '--dhcp-boot=tag:ipxe,http://10.42.0.1/boot.ipxe',
      // Last, so that they win for Arm clients, which the fallback line matches too.
      '--dhcp-boot=tag:uboot,,,10.42.0.1',
      '--dhcp-boot=tag:arm-efi,tag:!uboot,,,10.42.0.1',
    ]);
    // Only UEFI HTTP boot clients are told "HTTPClient".
    expect(withPrefix(args, '--dhcp-option-force=')).toEqual([
      '--dhcp-option-force=tag:arch-efi-x64-http,option:vendor-class,HTTPClient',
    ]);
  });

  it('in proxy mode gives each PXE ROM architecture its loader as a PXE boot service, and iPXE the script with a next server', () => {
    const args = dnsmasqArguments(plan({ mode: 'proxy', ipxeScriptUrl: 'http://10.42.0.1/boot.ipxe', archBoots }));
    expect(withPrefix(args, '--pxe-service=')).toEqual([
      '--pxe-service=tag:!ipxe,x86PC,pxe-hil,undionly.kpxe,10.42.0.1',
      '--pxe-service=tag:!ipxe,BC_EFI,pxe-hil,ipxe.efi,10.42.0.1',
      '--pxe-service=tag:!ipxe,X86-64_EFI,pxe-hil,ipxe.efi,10.42.0.1',
    ]);
    expect(withPrefix(args, '--dhcp-boot=tag:ipxe,')).toEqual([
      '--dhcp-boot=tag:ipxe,http://10.42.0.1/boot.ipxe,,10.42.0.1',
    ]);
  });

  it('without an iPXE script, the architecture lines apply to iPXE clients too', () => {
    const args = dnsmasqArguments(
      plan({
        archBoots: [
          { tag: 'arch-bios', codes: [0], over: 'tftp', file: 'pxelinux.0' },
          { tag: 'arch-efi-x64', codes: [7, 9], over: 'tftp', file: 'grubx64.efi' },
        ],
      }),
    );
    expect(withPrefix(args, '--dhcp-boot=')).toEqual([
      '--dhcp-boot=tag:arch-bios,pxelinux.0,,10.42.0.1',
      '--dhcp-boot=tag:arch-efi-x64,grubx64.efi,,10.42.0.1',
      '--dhcp-boot=tag:!arch-bios,tag:!arch-efi-x64,pxelinux.0,,10.42.0.1',
      // Last, so that they win for Arm clients, which the fallback line matches too.
      '--dhcp-boot=tag:uboot,,,10.42.0.1',
      '--dhcp-boot=tag:arm-efi,tag:!uboot,,,10.42.0.1',
    ]);
  });

  it('is unchanged by an empty architecture list', () => {
    expect(dnsmasqArguments(plan({ archBoots: [] }))).toEqual(dnsmasqArguments(plan()));
    const withScript = { ipxeScriptUrl: 'http://10.42.0.1/boot.ipxe' };
    expect(dnsmasqArguments(plan({ ...withScript, archBoots: [] }))).toEqual(dnsmasqArguments(plan(withScript)));
  });

  it('sends router advertisements only with an IPv6 prefix', () => {
    expect(dnsmasqArguments(plan())).not.toContain('--enable-ra');
    expect(dnsmasqArguments(plan()).filter((a) => a.includes('ra-only'))).toEqual([]);
    const args = dnsmasqArguments(plan({ ipv6RaPrefix: 'fd42::' }));
    expect(args.filter((a) => a === '--enable-ra')).toHaveLength(1);
    expect(args).toContain('--dhcp-range=fd42::,ra-only,64');
  });

  it('stays root with its own group only when asked (a user namespace maps no other id)', () => {
    expect(dnsmasqArguments(plan()).filter((a) => a.startsWith('--user') || a.startsWith('--group'))).toEqual([]);
    expect(
      dnsmasqArguments(plan({ runAs: 'root' })).filter((a) => a.startsWith('--user') || a.startsWith('--group')),
    ).toEqual(['--user=root', '--group=']);
  });

  it('is exactly these lines, in this order, for a plan with one host and no script', () => {
    expect(dnsmasqArguments(plan())).toEqual([
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--port=0',
      '--log-dhcp',
      '--log-facility=-',
      '--interface=br0',
      '--bind-interfaces',
      '--dhcp-authoritative',
      '--dhcp-leasefile=/run/hil/j1/dnsmasq.leases',
      '--pid-file=/run/hil/j1/dnsmasq.pid',
      '--dhcp-range=10.42.0.0,static,255.255.255.0,1h',
      '--dhcp-host=52:54:00:a1:00:01,10.42.0.10,qemu-x86',
      '--dhcp-ignore=tag:!known',
      '--dhcp-userclass=set:ipxe,iPXE',
      '--dhcp-match=set:ipxe,175',
      '--dhcp-option=tag:ipxe,encap:175,176,1',
      '--dhcp-boot=pxelinux.0,,10.42.0.1',
      '--dhcp-vendorclass=set:uboot,U-Boot',
      '--dhcp-match=set:uboot,option:client-arch,21',
      '--dhcp-match=set:uboot,option:client-arch,22',
      '--dhcp-match=set:arm-efi,option:client-arch,10',
      '--dhcp-match=set:arm-efi,option:client-arch,11',
      '--dhcp-boot=tag:uboot,,,10.42.0.1',
      '--dhcp-boot=tag:arm-efi,tag:!uboot,,,10.42.0.1',
    ]);
  });

  it('is exactly these lines, in this order, in proxy mode with an iPXE script', () => {
    expect(dnsmasqArguments(plan({ mode: 'proxy', ipxeScriptUrl: 'http://10.42.0.1/boot.ipxe' }))).toEqual([
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--port=0',
      '--log-dhcp',
      '--log-facility=-',
      '--interface=br0',
      '--bind-interfaces',
      '--dhcp-leasefile=/run/hil/j1/dnsmasq.leases',
      '--pid-file=/run/hil/j1/dnsmasq.pid',
      '--dhcp-range=10.42.0.0,proxy,255.255.255.0',
      '--dhcp-host=52:54:00:a1:00:01,qemu-x86',
      '--dhcp-ignore=tag:!known',
      '--dhcp-userclass=set:ipxe,iPXE',
      '--dhcp-match=set:ipxe,175',
      '--pxe-service=tag:!ipxe,x86PC,pxe-hil,pxelinux,10.42.0.1',
      '--dhcp-boot=tag:!ipxe,pxelinux.0,,10.42.0.1',
      '--dhcp-boot=tag:ipxe,http://10.42.0.1/boot.ipxe,,10.42.0.1',
      '--dhcp-vendorclass=set:uboot,U-Boot',
      '--dhcp-match=set:uboot,option:client-arch,21',
      '--dhcp-match=set:uboot,option:client-arch,22',
      '--dhcp-match=set:arm-efi,option:client-arch,10',
      '--dhcp-match=set:arm-efi,option:client-arch,11',
      '--dhcp-boot=tag:uboot,,,10.42.0.1',
      '--dhcp-boot=tag:arm-efi,tag:!uboot,,,10.42.0.1',
    ]);
  });
});

describe('parseDhcpLog', () => {
  it('reads a DHCPDISCOVER', () => {
    expect(parseDhcpLog('dnsmasq-dhcp[5246]: 3719926362 DHCPDISCOVER(br0) 52:54:00:a1:00:01')).toEqual([
      { kind: 'message', message: 'DHCPDISCOVER', mac: '52:54:00:a1:00:01', ip: undefined, detail: undefined },
    ]);
  });

  it('reads a DHCPOFFER with its address, and it is not a lease', () => {
    expect(parseDhcpLog('dnsmasq-dhcp[5246]: 3719926362 DHCPOFFER(br0) 10.42.0.10 52:54:00:a1:00:01')).toEqual([
      { kind: 'message', message: 'DHCPOFFER', mac: '52:54:00:a1:00:01', ip: '10.42.0.10', detail: undefined },
    ]);
  });

  it('reads a DHCPREQUEST with its address', () => {
    expect(parseDhcpLog('dnsmasq-dhcp[5246]: 3719926362 DHCPREQUEST(br0) 10.42.0.10 52:54:00:a1:00:01')).toEqual([
      { kind: 'message', message: 'DHCPREQUEST', mac: '52:54:00:a1:00:01', ip: '10.42.0.10', detail: undefined },
    ]);
  });

  it('reads a DHCPACK as a message and a lease, with the MAC lower-cased and the hostname', () => {
    expect(parseDhcpLog('dnsmasq-dhcp[5246]: 3719926362 DHCPACK(br0) 10.42.0.10 52:54:00:A1:00:01 qemu-x86')).toEqual([
      { kind: 'message', message: 'DHCPACK', mac: '52:54:00:a1:00:01', ip: '10.42.0.10', detail: 'qemu-x86' },
      { kind: 'lease', mac: '52:54:00:a1:00:01', ip: '10.42.0.10', hostname: 'qemu-x86' },
    ]);
  });

  it('reads a DHCPACK without a hostname as a lease without one', () => {
    const events = parseDhcpLog('dnsmasq-dhcp[5246]: 1 DHCPACK(br0) 10.42.0.10 52:54:00:a1:00:01');
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual({ kind: 'lease', mac: '52:54:00:a1:00:01', ip: '10.42.0.10', hostname: undefined });
  });

  it('reads an ignored client as a message with the detail and no lease', () => {
    expect(parseDhcpLog('DHCPDISCOVER(br0) 52:54:00:99:99:99 ignored')).toEqual([
      { kind: 'message', message: 'DHCPDISCOVER', mac: '52:54:00:99:99:99', ip: undefined, detail: 'ignored' },
    ]);
  });

  it.each([
    'dnsmasq[5246]: started, version 2.90 DNS disabled',
    'started, version 2.90',
    'dnsmasq-dhcp[5246]: DHCP, static leases only on 10.42.0.0, lease time 1h',
    'dnsmasq-dhcp[5246]: 3719926362 available DHCP subnet: 10.42.0.0/255.255.255.0',
    'dnsmasq-dhcp[5246]: 3719926362 vendor class: PXEClient:Arch:00000:UNDI:002001',
    'dnsmasq-dhcp[5246]: 3719926362 tags: known, ipxe, br0',
    'dnsmasq-dhcp[5246]: 3719926362 sent size:  1 option: 53 message-type  5',
    '',
  ])('reads nothing from %j', (line) => {
    expect(parseDhcpLog(line)).toEqual([]);
  });
});
