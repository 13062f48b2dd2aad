/**
 * The job's DHCP server: dnsmasq as DHCP (and IPv6 router advertisements)
 * only, no DNS, no TFTP, answering only the job's board by MAC. iPXE clients
 * (user class "iPXE" or option 175) get the URL of their boot script; other
 * PXE clients get the boot file of their architecture (option 93, see
 * client-arch.ts) when the plan names one, else pxelinux, over TFTP. U-Boot
 * (vendor class "U-Boot.<arch>", or client arch 21/22) gets its boot script;
 * Arm UEFI clients (client arch 10/11, U-Boot's second try) never get the x86
 * pxelinux.0. In proxy mode (a lab network whose own DHCP server gives the
 * addresses) it gives only the boot information, still only to the job's
 * board, and PXE ROMs get their file as a PXE boot service.
 *
 * Tested against: dnsmasq 2.90 (Debian 12 dnsmasq-base).
 * Reference: dnsmasq(8) (--dhcp-host, --dhcp-ignore, --dhcp-boot, --dhcp-userclass,
 * --dhcp-vendorclass, --dhcp-match, --enable-ra, --dhcp-range ra-only and proxy,
 * --pxe-service); iPXE docs "chainloading"; RFC 4578 and the IANA "Processor
 * Architecture Types" registry (option 93); U-Boot docs "Distro boot" (bootcmd_dhcp).
 */
import { Deadline } from '../core/deadline.js';
import { startChild, type Child } from '../core/process.js';
import { PXE_SERVICE_TYPES, type ArchBoot } from './client-arch.js';

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
  /** Boot files by client architecture (option 93) for clients that are not iPXE; `pxeBootFile` stays for clients of no listed architecture. */
  archBoots?: ArchBoot[];
  ipv6RaPrefix?: string;
  leaseFile: string;
  pidFile: string;
  /** 'dhcp' (default): the job gives the addresses. 'proxy': proxyDHCP beside the lab's DHCP server; hosts' `ip` is not used. */
  mode?: 'dhcp' | 'proxy';
  /**
   * The user dnsmasq runs as once started (default: it switches to nobody and
   * group dip); 'root' in a user namespace that maps no other id, where it
   * must not change its group either (setgroups(2) is denied there).
   */
  runAs?: 'root';
};

export function dnsmasqArguments(plan: DhcpPlan): string[] {
  const proxy = plan.mode === 'proxy';
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
    ...(proxy ? [] : ['--dhcp-authoritative']),
    `--dhcp-leasefile=${plan.leaseFile}`,
    `--pid-file=${plan.pidFile}`,
    // An empty --group= keeps dnsmasq's group.
    ...(plan.runAs ? [`--user=${plan.runAs}`, '--group='] : []),
    proxy
      ? `--dhcp-range=${plan.subnet},proxy,${plan.netmask}`
      : `--dhcp-range=${plan.subnet},static,${plan.netmask},1h`,
    ...plan.hosts.map((h) =>
      proxy ? `--dhcp-host=${h.mac},${h.hostname}` : `--dhcp-host=${h.mac},${h.ip},${h.hostname}`,
    ),
    // Only the job's own boards: any other MAC gets no answer at all (in proxy mode too: dnsmasq logs "proxy-ignored").
    '--dhcp-ignore=tag:!known',
    '--dhcp-userclass=set:ipxe,iPXE',
    '--dhcp-match=set:ipxe,175',
  ];
  if (!proxy) {
    // iPXE's "no-pxedhcp" setting (175.176): take this offer at once instead of waiting ~2 s for ProxyDHCP offers.
    // Never in proxy mode: there iPXE must wait for the job's proxy offer beside the lab's DHCP offer.
    args.push('--dhcp-option=tag:ipxe,encap:175,176,1');
  } else {
    args.push(...proxyServiceArguments(plan));
  }
  // In proxy mode iPXE takes a proxy offer as it is only with a boot file and a next server (siaddr);
  // without one, Debian 12's iPXE ROM asked again on port 4011 and took none of dnsmasq's answers.
  const ipxeBoot = proxy
    ? `--dhcp-boot=tag:ipxe,${plan.ipxeScriptUrl},,${plan.serverIp}`
    : `--dhcp-boot=tag:ipxe,${plan.ipxeScriptUrl}`;
  if (plan.archBoots?.length) {
    args.push(...archBootArguments(plan.archBoots, plan.serverIp, plan.pxeBootFile, plan.ipxeScriptUrl !== undefined));
    if (plan.ipxeScriptUrl) args.push(ipxeBoot);
  } else if (plan.ipxeScriptUrl) {
    args.push(`--dhcp-boot=tag:!ipxe,${plan.pxeBootFile},,${plan.serverIp}`);
    args.push(ipxeBoot);
  } else {
    args.push(`--dhcp-boot=${plan.pxeBootFile},,${plan.serverIp}`);
  }
  args.push(...armArguments(plan));
  if (plan.ipv6RaPrefix && !proxy) {
    // iPXE waits ~13 s for IPv6 autoconfiguration unless a router advertisement answers it.
    args.push('--enable-ra', `--dhcp-range=${plan.ipv6RaPrefix},ra-only,64`);
  }
  return args;
}

/**
 * proxyDHCP: a PXE ROM takes its boot file from a proxy offer's PXE menu
 * (option 43), not from the file field; one service per architecture and no
 * prompt boots it at once. iPXE takes the file field (--dhcp-boot).
 */
function proxyServiceArguments(plan: DhcpPlan): string[] {
  const services = new Map<string, string>();
  for (const boot of plan.archBoots ?? []) {
    if (boot.over !== 'tftp') continue;
    for (const code of boot.codes) {
      const csa = PXE_SERVICE_TYPES[code];
      if (csa) services.set(csa, boot.file);
    }
  }
  if (!services.has('x86PC')) services.set('x86PC', plan.pxeBootFile);
  // The service's file is asked for as <basename>.0 unless the name has its own suffix: pxelinux.0 goes as pxelinux.
  return [...services].map(
    ([csa, file]) => `--pxe-service=tag:!ipxe,${csa},pxe-hil,${file.replace(/\.0$/, '')},${plan.serverIp}`,
  );
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
    plan.ubootScript
      ? `--dhcp-boot=tag:uboot,${plan.ubootScript},,${plan.serverIp}`
      : `--dhcp-boot=tag:uboot,,,${plan.serverIp}`,
    `--dhcp-boot=tag:arm-efi,tag:!uboot,,,${plan.serverIp}`,
  ];
}

/**
 * A tag per architecture from option 93, and one --dhcp-boot per tag. The
 * lines exclude each other (the fallback names every architecture tag with
 * '!'), so among them dnsmasq's choice does not depend on their order; Arm
 * clients, which the fallback also matches, are answered by the Arm lines
 * that come after it (dnsmasq takes the last matching line). With an iPXE
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
  | { kind: 'proxy-offer'; mac: string; ignored: boolean }
  | { kind: 'lease'; mac: string; ip: string; hostname?: string };

const DHCP_LINE =
  /\b(DHCP[A-Z]+)\(([^)]+)\)\s+(?:(\d{1,3}(?:\.\d{1,3}){3})\s+)?((?:[0-9a-f]{2}:){5}[0-9a-f]{2})(?:\s+(.*))?$/i;

const PROXY_LINE = /\bPXE\(([^)]+)\)\s+((?:[0-9a-f]{2}:){5}[0-9a-f]{2})\s+(proxy|proxy-ignored)\s*$/i;

/** Reads one line of dnsmasq's DHCP log. */
export function parseDhcpLog(line: string): DhcpLogEvent[] {
  const proxy = PROXY_LINE.exec(line);
  if (proxy) return [{ kind: 'proxy-offer', mac: proxy[2]!.toLowerCase(), ignored: proxy[3] === 'proxy-ignored' }];
  const match = DHCP_LINE.exec(line);
  if (!match) return [];
  const [, message, , ip, mac, rest] = match as unknown as [
    string,
    string,
    string,
    string | undefined,
    string,
    string | undefined,
  ];
  const events: DhcpLogEvent[] = [
    { kind: 'message', message, mac: mac.toLowerCase(), ip, detail: rest?.trim() || undefined },
  ];
  if (message === 'DHCPACK' && ip)
    events.push({ kind: 'lease', mac: mac.toLowerCase(), ip, hostname: rest?.trim() || undefined });
  return events;
}

/** How many of dnsmasq's last log lines are kept in memory. */
const LOG_TAIL = 20;

/** `log`: dnsmasq's last LOG_TAIL lines. */
export type Dnsmasq = { child: Child; log: string[] };

/** Starts dnsmasq in the namespace and waits until its DHCP server is up. */
export async function startDnsmasq(
  netns: string,
  plan: DhcpPlan,
  onEvent: (event: DhcpLogEvent) => void,
  onLine: (line: string) => void,
): Promise<Dnsmasq> {
  const log: string[] = [];
  let ready: () => void = () => {};
  const readyLine = new Promise<void>((resolve) => (ready = resolve));
  const child = startChild('dnsmasq', 'dnsmasq', dnsmasqArguments(plan), {
    netns,
    onStderrLine: (line) => {
      // Only the last lines, for the message when dnsmasq exits early: a busy network cannot grow it.
      if (log.push(line) > LOG_TAIL) log.shift();
      onLine(line);
      if (/\bDHCP, (IP range|static leases|proxy on subnet)/.test(line)) ready();
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
