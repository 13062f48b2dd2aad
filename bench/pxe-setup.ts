/**
 * Time to a ready PXE server, by network kind: the job's own bridge and tap
 * (qemu-tap) against a macvlan on a lab interface (lab, proxy and dhcp
 * modes). Each round starts the PXE server (namespace, links, dnsmasq, file
 * server) until it reports ready, then stops it; the kinds alternate within
 * a round so that host load falls on all of them alike. The "lab interface"
 * is a bridge in a namespace this script creates, like the system test's.
 * The PXE server is the build's (.build/, compiled first when a source
 * changed), so that its file server runs as in a job: plain Node.
 *
 * Run: npx tsx bench/pxe-setup.ts [rounds]   (default 10)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { EventBus } from '../harness/core/events.js';
import type { LabNetworkConfig } from '../harness/pxe/lab-network.js';
import { BUILT_HARNESS } from '../harness/core/build.js';
import { pathToFileURL } from 'node:url';
import { BENCH_ID, summarize } from './support.js';

const LAB = `hil-test-lab-${BENCH_ID}`;
const KINDS: Record<string, LabNetworkConfig | undefined> = {
  'qemu-tap': undefined,
  'lab proxy': { interface: 'labbr0', netns: LAB, mode: 'proxy', serverAddress: '192.168.77.251/24' },
  'lab dhcp': { interface: 'labbr0', netns: LAB, mode: 'dhcp', serverAddress: '192.168.77.252/24' },
};

async function startAndStop(
  round: number,
  index: number,
  lab: LabNetworkConfig | undefined,
  dir: string,
  file: string,
): Promise<number> {
  const started = performance.now();
  const server = await PxeServer.start({
    jobId: `${BENCH_ID}-${round}-${index}`,
    workDir: dir,
    bus: new EventBus(),
    board: { mac: '52:54:00:b0:00:71', ip: lab?.mode === 'dhcp' ? '192.168.77.20' : '10.42.0.10', hostname: 'bench' },
    boot: { label: 'bench', kernel: 'vmlinuz', cmdline: '' },
    files: [{ name: 'vmlinuz', role: 'kernel', path: file }],
    loader: 'auto',
    roots: [dir],
    lab,
  });
  const readyMs = performance.now() - started;
  await server.stop();
  return readyMs;
}

type PxeServerModule = typeof import('../harness/pxe/pxe-server.js');
let PxeServer: PxeServerModule['PxeServer'];

async function main(rounds: number): Promise<void> {
  await execa('bash', ['scripts/build'], { cwd: new URL('../', import.meta.url).pathname });
  ({ PxeServer } = (await import(pathToFileURL(join(BUILT_HARNESS, 'pxe/pxe-server.js')).href)) as PxeServerModule);
  const dir = await mkdtemp(join(tmpdir(), `hil-bench-${BENCH_ID}-pxe-setup-`));
  const file = join(dir, 'vmlinuz');
  await writeFile(file, Buffer.alloc(4096));
  await execa('ip', ['netns', 'add', LAB]);
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(KINDS).map((k) => [k, []]));
  try {
    await execa('ip', ['-n', LAB, '-batch', '-'], {
      input: 'link set lo up\nlink add labbr0 type bridge\nlink set labbr0 up\n',
    });
    for (let round = 0; round < rounds; round++) {
      for (const [index, [kind, lab]] of Object.entries(KINDS).entries())
        times[kind]!.push(await startAndStop(round, index, lab, dir, file));
    }
  } finally {
    await execa('ip', ['netns', 'del', LAB], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`PXE server start to ready, ${rounds} rounds (ms): median (min-max)\n`);
  for (const [kind, values] of Object.entries(times)) {
    const s = summarize(values);
    process.stdout.write(`${kind.padEnd(10)} ${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})\n`);
  }
}

await main(Number(process.argv[2] ?? 10));
