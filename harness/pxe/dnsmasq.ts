/**
 * The job's DHCP server: dnsmasq as DHCP (and IPv6 router advertisements)
 * only, no DNS, no TFTP, answering only the job's board by MAC. iPXE clients
 * (user class "iPXE" or option 175) get the URL of their boot script; other
 * PXE clients get the boot file of their architecture (option 93, see
 * client-arch.ts) when the plan names one, else pxelinux, over TFTP.
 *
 * Tested against: dnsmasq 2.90 (Debian 12 dnsmasq-base).
 * Reference: dnsmasq(8) (--dhcp-host, --dhcp-ignore, --dhcp-boot, --dhcp-userclass,
 * --dhcp-match, --enable-ra, --dhcp-range ra-only); iPXE docs "chainloading";
 * RFC 4578 (option 93 client-arch).
 */
import { Deadline } from '../core/deadline.js';
import { startChild, type Child } from '../core/process.js';
import type { ArchBoot } from './client-arch.js';

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
  /** Boot files by client architecture (option 93) for clients that are not iPXE; `pxeBootFile` stays for clients of no listed architecture. */
  archBoots?: ArchBoot[];
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
  if (plan.archBoots?.length) {
    args.push(...archBootArguments(plan.archBoots, plan.serverIp, plan.pxeBootFile, plan.ipxeScriptUrl !== undefined));
    if (plan.ipxeScriptUrl) args.push(`--dhcp-boot=tag:ipxe,${plan.ipxeScriptUrl}`);
  } else if (plan.ipxeScriptUrl) {
    args.push(`--dhcp-boot=tag:!ipxe,${plan.pxeBootFile},,${plan.serverIp}`);
    args.push(`--dhcp-boot=tag:ipxe,${plan.ipxeScriptUrl}`);
  } else {
    args.push(`--dhcp-boot=${plan.pxeBootFile},,${plan.serverIp}`);
  }
  if (plan.ipv6RaPrefix) {
    // iPXE waits ~13 s for IPv6 autoconfiguration unless a router advertisement answers it.
    args.push('--enable-ra', `--dhcp-range=${plan.ipv6RaPrefix},ra-only,64`);
  }
  return args;
}

/**
 * A tag per architecture from option 93, and one --dhcp-boot per tag. The
 * lines exclude each other (the fallback names every architecture tag with
 * '!'), so dnsmasq's choice does not depend on their order. With an iPXE
 * script, iPXE clients are left out of them: they get the script.
 */
function archBootArguments(boots: ArchBoot[], serverIp: string, fallback: string, exceptIpxe: boolean): string[] {
  const notIpxe = exceptIpxe ? 'tag:!ipxe,' : '';
  const args = boots.flatMap((b) => b.codes.map((code) => `--dhcp-match=set:${b.tag},option:client-arch,${code}`));
  for (const boot of boots) {
    if (boot.over === 'http') {
      // UEFI HTTP boot takes only an offer that says "HTTPClient" in option 60, with a URL as boot file.
      args.push(`--dhcp-option-force=tag:${boot.tag},option:vendor-class,HTTPClient`);
      args.push(`--dhcp-boot=${notIpxe}tag:${boot.tag},${boot.file}`);
    } else {
      args.push(`--dhcp-boot=${notIpxe}tag:${boot.tag},${boot.file},,${serverIp}`);
    }
  }
  args.push(`--dhcp-boot=${notIpxe}${boots.map((b) => `tag:!${b.tag}`).join(',')},${fallback},,${serverIp}`);
  return args;
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
