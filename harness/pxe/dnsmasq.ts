/**
 * The job's DHCP server: dnsmasq as DHCP (and IPv6 router advertisements)
 * only, no DNS, no TFTP, answering only the job's board by MAC. iPXE clients
 * (user class "iPXE" or option 175) get the URL of their boot script; other
 * PXE clients get pxelinux over TFTP. U-Boot (vendor class "U-Boot.<arch>",
 * or client arch 21/22) gets its boot script; Arm UEFI clients (client arch
 * 10/11, U-Boot's second try) never get the x86 pxelinux.0.
 *
 * Tested against: dnsmasq 2.90 (Debian 12 dnsmasq-base).
 * Reference: dnsmasq(8) (--dhcp-host, --dhcp-ignore, --dhcp-boot, --dhcp-userclass,
 * --dhcp-vendorclass, --dhcp-match, --enable-ra, --dhcp-range ra-only); iPXE docs
 * "chainloading"; RFC 4578 and the IANA "Processor Architecture Types" registry
 * (option 93); U-Boot docs "Distro boot" (bootcmd_dhcp).
 */
import { Deadline } from '../core/deadline.js';
import { startChild, type Child } from '../core/process.js';

export type DhcpHost = { mac: string; ip: string; hostname: string };

export type DhcpPlan = {
  interface: string;
  serverIp: string;
  netmask: string;
  subnet: string;
  hosts: DhcpHost[];
  /** Boot file for plain PXE clients, served over TFTP. */
  pxeBootFile: string;
  /** Boot script URL for iPXE clients; undefined sends iPXE the plain PXE file too. */
  ipxeScriptUrl?: string;
  /** Boot script for U-Boot clients (boot.scr.uimg), served over TFTP; undefined: U-Boot gets no boot file. */
  ubootScript?: string;
  ipv6RaPrefix?: string;
  leaseFile: string;
  pidFile: string;
};

export function dnsmasqArguments(plan: DhcpPlan): string[] {
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--port=0',
    '--log-dhcp',
    '--log-facility=-',
    `--interface=${plan.interface}`,
    '--bind-interfaces',
    '--dhcp-authoritative',
    `--dhcp-leasefile=${plan.leaseFile}`,
    `--pid-file=${plan.pidFile}`,
    `--dhcp-range=${plan.subnet},static,${plan.netmask},1h`,
    ...plan.hosts.map((h) => `--dhcp-host=${h.mac},${h.ip},${h.hostname}`),
    // Only the job's own boards: any other MAC gets no answer at all.
    '--dhcp-ignore=tag:!known',
    '--dhcp-userclass=set:ipxe,iPXE',
    '--dhcp-match=set:ipxe,175',
    // iPXE's "no-pxedhcp" setting (175.176): take this offer at once instead of waiting ~2 s for ProxyDHCP offers.
    '--dhcp-option=tag:ipxe,encap:175,176,1',
  ];
  if (plan.ipxeScriptUrl) {
    args.push(`--dhcp-boot=tag:!ipxe,${plan.pxeBootFile},,${plan.serverIp}`);
    args.push(`--dhcp-boot=tag:ipxe,${plan.ipxeScriptUrl}`);
  } else {
    args.push(`--dhcp-boot=${plan.pxeBootFile},,${plan.serverIp}`);
  }
  args.push(...armArguments(plan));
  if (plan.ipv6RaPrefix) {
    // iPXE waits ~13 s for IPv6 autoconfiguration unless a router advertisement answers it.
    args.push('--enable-ra', `--dhcp-range=${plan.ipv6RaPrefix},ra-only,64`);
  }
  return args;
}

/** Option 93 values of Arm clients (IANA registry): 10 arm32 UEFI, 11 arm64 UEFI, 21 arm32 U-Boot, 22 arm64 U-Boot. */
const ARM_CLIENT_ARCH = { armEfi: [10, 11], uboot: [21, 22] } as const;

/**
 * U-Boot and Arm UEFI clients: tagged, and given their own boot file (or an
 * empty one), so that no line for x86 clients ever answers them.
 */
function armArguments(plan: DhcpPlan): string[] {
  return [
    '--dhcp-vendorclass=set:uboot,U-Boot',
    ...ARM_CLIENT_ARCH.uboot.map((arch) => `--dhcp-match=set:uboot,option:client-arch,${arch}`),
    ...ARM_CLIENT_ARCH.armEfi.map((arch) => `--dhcp-match=set:arm-efi,option:client-arch,${arch}`),
    plan.ubootScript ? `--dhcp-boot=tag:uboot,${plan.ubootScript},,${plan.serverIp}` : `--dhcp-boot=tag:uboot,,,${plan.serverIp}`,
    `--dhcp-boot=tag:arm-efi,tag:!uboot,,,${plan.serverIp}`,
  ];
}

export type DhcpLogEvent =
  | { kind: 'message'; message: string; mac: string; ip?: string; detail?: string }
  | { kind: 'lease'; mac: string; ip: string; hostname?: string };

const DHCP_LINE = /\b(DHCP[A-Z]+)\(([^)]+)\)\s+(?:(\d{1,3}(?:\.\d{1,3}){3})\s+)?((?:[0-9a-f]{2}:){5}[0-9a-f]{2})(?:\s+(.*))?$/i;

/** Reads one line of dnsmasq's DHCP log. */
export function parseDhcpLog(line: string): DhcpLogEvent[] {
  const match = DHCP_LINE.exec(line);
  if (!match) return [];
  const [, message, , ip, mac, rest] = match as unknown as [string, string, string, string | undefined, string, string | undefined];
  const events: DhcpLogEvent[] = [{ kind: 'message', message, mac: mac.toLowerCase(), ip, detail: rest?.trim() || undefined }];
  if (message === 'DHCPACK' && ip) events.push({ kind: 'lease', mac: mac.toLowerCase(), ip, hostname: rest?.trim() || undefined });
  return events;
}

export type Dnsmasq = { child: Child; log: string[] };

/** Starts dnsmasq in the namespace and waits until its DHCP server is up. */
export async function startDnsmasq(netns: string, plan: DhcpPlan, onEvent: (event: DhcpLogEvent) => void, onLine: (line: string) => void): Promise<Dnsmasq> {
  const log: string[] = [];
  let ready: () => void = () => {};
  const readyLine = new Promise<void>((resolve) => (ready = resolve));
  const child = startChild('dnsmasq', 'dnsmasq', dnsmasqArguments(plan), {
    netns,
    onStderrLine: (line) => {
      log.push(line);
      onLine(line);
      if (/\bDHCP, (IP range|static leases)/.test(line)) ready();
      for (const event of parseDhcpLog(line)) onEvent(event);
    },
  });
  const exitedEarly = child.exited.then((exit) => {
    throw new Error(`dnsmasq exited (code ${exit.exitCode ?? exit.signal}): ${log.slice(-3).join(' | ')}`);
  });
  try {
    await Deadline.in(5000, 'dnsmasq to start its DHCP server').race(Promise.race([readyLine, exitedEarly]));
  } catch (error) {
    await child.stop(1000);
    throw error;
  }
  exitedEarly.catch(() => {});
  return { child, log };
}
