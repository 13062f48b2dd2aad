/**
 * The classic way to netboot a board, as a reference: one dnsmasq doing DHCP
 * and TFTP (`--enable-tftp --tftp-root`) with pxelinux (pxelinux.0,
 * ldlinux.c32, pxelinux.cfg/default) and the kernel and initrd in its TFTP
 * root, no router advertisements, and a QEMU board with `-boot n` on a tap in
 * a namespace made here (and removed after); or, tuned, with the two dnsmasq
 * options pxe-hil's own has. Same machine, memory, CPUs, NIC and accelerator
 * (the one the bench resolved for all its boots) as the harness's QEMU target.
 *
 * Tested against: dnsmasq 2.90, pxelinux 6.04, qemu-system-x86 7.2 with
 * ipxe-qemu ROMs (Debian 12), TCG.
 * Reference: dnsmasq(8) (--enable-tftp, --tftp-root, --dhcp-boot, --dhcp-range);
 * PXELINUX docs (pxelinux.cfg/default); QEMU System Emulation user docs (-netdev tap, -boot).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from '../harness/config/target.js';
import { Deadline } from '../harness/core/deadline.js';
import { startChild, type Child } from '../harness/core/process.js';
import type { ImageDefinition } from '../harness/images/image.js';
import { biosPxeLoaders } from '../harness/images/pxe-loaders.js';
import { renderPxelinuxConfig } from '../harness/pxe/boot-config.js';
import { createJobNetwork, planJobNetwork, removeJobNetwork } from '../harness/pxe/netns.js';
import { BENCH_ID, bootMarks, ConsoleMarks, type MarkTimes } from './support.js';

export type SeedBoot = MarkTimes & {
  /** From the start to dnsmasq answering (namespace made, TFTP root filled, dnsmasq up). */
  setupMs: number;
  /** From the last console mark to QEMU, dnsmasq, the namespace and the TFTP root gone. */
  teardownMs: number;
};

/**
 * `tuned`: the same dnsmasq with the two options pxe-hil's own dnsmasq has
 * (harness/pxe/dnsmasq.ts): router advertisements on the bridge, and iPXE's
 * no-ProxyDHCP-wait (option 175.176), so that a comparison with it shows what
 * the rest of pxe-hil's way (HTTP instead of pxelinux over TFTP) does alone.
 */
export async function bootSeedWay(
  target: Target,
  image: ImageDefinition,
  timeoutMs: number,
  options: { accel: 'kvm' | 'tcg'; tuned: boolean },
): Promise<SeedBoot> {
  if (target.power.driver !== 'qemu') throw new Error('the seed-way boot needs a QEMU target');
  const [prepared, loaders] = await Promise.all([image.prepare(), biosPxeLoaders()]);
  const network = planJobNetwork(`${BENCH_ID}-${options.tuned ? 'tuned' : 'seed'}`);
  const children: Child[] = [];
  let root: string | undefined;
  let networkMade = false;

  const origin = performance.now();
  const marks = new ConsoleMarks(bootMarks(image), image.failurePatterns, origin);
  const teardown = async () => {
    for (const child of children.splice(0).reverse()) await child.stop(2000);
    if (networkMade) await removeJobNetwork(network.netns);
    networkMade = false;
    if (root) await rm(root, { recursive: true, force: true });
    root = undefined;
  };
  try {
    await createJobNetwork(network);
    networkMade = true;
    root = await mkdtemp(join(tmpdir(), `hil-bench-${BENCH_ID}-tftp-`));
    await mkdir(join(root, 'pxelinux.cfg'));
    const kernelName = image.servedNames.kernel;
    const initrdName = prepared.initrd ? image.servedNames.initrd : undefined;
    await Promise.all([
      ...loaders.map((file) =>
        'path' in file ? symlink(file.path, join(root!, file.name)) : writeFile(join(root!, file.name), file.content),
      ),
      symlink(prepared.kernel, join(root, kernelName)),
      ...(prepared.initrd && initrdName ? [symlink(prepared.initrd, join(root, initrdName))] : []),
      writeFile(
        join(root, 'pxelinux.cfg', 'default'),
        renderPxelinuxConfig({
          label: image.name,
          kernel: kernelName,
          initrd: initrdName,
          cmdline: [image.cmdline, `console=${target.console.kernelConsole}`, target.kernelArgs]
            .filter(Boolean)
            .join(' '),
        }),
      ),
    ]);

    const dnsmasqLog: string[] = [];
    let dnsmasqReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (dnsmasqReady = resolve));
    const dnsmasq = startChild(
      'dnsmasq-seed',
      'dnsmasq',
      [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--port=0',
        '--log-facility=-',
        `--interface=${network.bridge}`,
        '--bind-interfaces',
        // The TFTP root holds links into the image cache, which only root can read.
        '--user=root',
        `--dhcp-leasefile=${join(root, 'dnsmasq.leases')}`,
        `--pid-file=${join(root, 'dnsmasq.pid')}`,
        '--dhcp-range=10.42.0.10,10.42.0.50,255.255.255.0,1h',
        '--dhcp-boot=pxelinux.0',
        '--enable-tftp',
        `--tftp-root=${root}`,
        ...(options.tuned
          ? [
              '--dhcp-match=set:ipxe,175',
              '--dhcp-option=tag:ipxe,encap:175,176,1',
              '--enable-ra',
              `--dhcp-range=${network.ipv6Prefix},ra-only,64`,
            ]
          : []),
      ],
      {
        netns: network.netns,
        onStderrLine: (line) => {
          dnsmasqLog.push(line);
          if (/TFTP root is/.test(line)) dnsmasqReady();
        },
      },
    );
    children.push(dnsmasq);
    void dnsmasq.exited.then(() => marks.abort(`dnsmasq exited: ${dnsmasqLog.slice(-3).join(' | ')}`));
    await Deadline.in(5000, 'dnsmasq (DHCP and TFTP) to start').race(ready);
    const setupMs = performance.now() - origin;

    const qemu = startChild(
      'qemu-seed',
      'qemu-system-x86_64',
      [
        '-machine',
        `pc,accel=${options.accel}`,
        '-m',
        String(target.power.memoryMiB),
        '-smp',
        String(target.power.cpus),
        '-nodefaults',
        '-no-user-config',
        '-display',
        'none',
        '-serial',
        'stdio',
        '-netdev',
        `tap,id=net0,ifname=${network.tap},script=no,downscript=no`,
        '-device',
        `${target.power.nic},netdev=net0,mac=${target.network.mac}`,
        '-boot',
        'n',
      ],
      { netns: network.netns },
    );
    children.push(qemu);
    qemu.subprocess.stdout?.on('data', (chunk: Buffer) => marks.feed(chunk));
    void qemu.exited.then((exit) =>
      marks.abort(`QEMU exited (code ${exit.exitCode ?? exit.signal}) before the boot was done`),
    );
    const times = await marks.wait(
      Deadline.in(timeoutMs, `the seed-way netboot of ${image.name} to its last milestone`),
    );

    const readyAt = performance.now();
    await teardown();
    return { ...times, setupMs, teardownMs: performance.now() - readyAt };
  } finally {
    await teardown();
  }
}
