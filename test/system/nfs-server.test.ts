/**
 * The job's NFS server (nfs-ganesha and rpcbind) against real clients, in job
 * networks this test makes: libnfs's user-space client in client namespaces
 * on the job's bridge, and the NFS client of Debian's cloud kernel in a QEMU
 * guest on the job's tap. Two servers run at once in two namespaces on the
 * same address; each serves only its own export, only to its own client.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobNetwork, type JobNetwork, planJobNetwork, removeJobNetwork } from '../../harness/pxe/netns.js';
import { type NfsLogEvent, type NfsServer, startNfsServer } from '../../harness/pxe/nfs-server.js';
import { cleanupJob } from '../../harness/run/recovery.js';
import { NO_RESIDUE, residueOf } from '../support/hil.js';
import { nfsClientImage, runNfsClientGuest } from '../support/nfs-client-guest.js';
import { addNfsClient, alive, hostMountsNaming, nfsTool, removeNfsClient } from '../support/nfs-peers.js';

type Job = { id: string; net: JobNetwork; dir: string; server: NfsServer; events: NfsLogEvent[]; lines: string[] };

let root: string;
const jobs: Job[] = [];
const clients: string[] = [];

async function startJob(
  id: string,
  clientIp: string,
  files: Record<string, string>,
  overlay = false,
  versions: (3 | 4)[] = [3, 4],
): Promise<Job & { export: string; lower: string }> {
  const net = planJobNetwork(id);
  await createJobNetwork(net);
  const dir = join(root, id);
  const lower = join(dir, overlay ? 'lower' : 'export');
  await mkdir(lower, { recursive: true });
  await mkdir(join(dir, 'nfs'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(lower, name), text);
  if (overlay) for (const sub of ['export', 'upper', 'work']) await mkdir(join(dir, sub));
  const events: NfsLogEvent[] = [];
  const lines: string[] = [];
  const server = await startNfsServer(
    {
      netns: net.netns,
      serverIp: net.serverIp,
      clientIp,
      exportPath: join(dir, 'export'),
      pseudoPath: '/rootfs',
      stateDir: join(dir, 'nfs'),
      overlay: overlay ? { lower, upper: join(dir, 'upper'), work: join(dir, 'work') } : undefined,
      versions,
    },
    { onEvent: (event) => events.push(event), onLogLine: (_source, line) => lines.push(line) },
  );
  const job = { id, net, dir, server, events, lines, export: join(dir, 'export'), lower };
  jobs.push(job);
  return job;
}

async function addClient(job: Job, name: string, veth: string, address: string): Promise<string> {
  const ns = `hil-${job.id}-${name}`;
  clients.push(ns);
  await addNfsClient(job.net.netns, ns, veth, address);
  return ns;
}

async function stopJob(job: Job): Promise<void> {
  await job.server.stop();
  await removeJobNetwork(job.net.netns);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hil-nfs-'));
});

afterAll(async () => {
  for (const ns of clients) await removeNfsClient(ns);
  for (const job of jobs) {
    if (job.server.ganesha.running || job.server.rpcbind.running) await job.server.stop();
    await removeJobNetwork(job.net.netns);
  }
  await rm(root, { recursive: true, force: true });
  for (const job of jobs) expect(residueOf(job.id)).toEqual(NO_RESIDUE);
});

describe('two NFS servers at once, with user-space clients', () => {
  let a: Awaited<ReturnType<typeof startJob>>;
  let b: Awaited<ReturnType<typeof startJob>>;
  let clientA: string;
  let otherA: string;
  let clientB: string;

  beforeAll(async () => {
    a = await startJob(`nfsa${process.pid}`, '10.42.0.50', { 'hello.txt': 'served by a\n' });
    b = await startJob(`nfsb${process.pid}`, '10.42.0.50', { 'hello.txt': 'served by b\n' });
    clientA = await addClient(a, 'ok', 'vc1', '10.42.0.50/24');
    otherA = await addClient(a, 'other', 'vc2', '10.42.0.51/24');
    clientB = await addClient(b, 'ok', 'vc1', '10.42.0.50/24');
  });

  it('serves each its own export on the same address: each client reads its own file', async () => {
    expect(a.net.serverIp).toBe(b.net.serverIp);
    expect(await nfsTool(clientA, 'nfs-cat', ['nfs://10.42.0.1/rootfs/hello.txt'])).toEqual({
      exitCode: 0,
      stdout: 'served by a',
      stderr: '',
    });
    expect(await nfsTool(clientB, 'nfs-cat', ['nfs://10.42.0.1/rootfs/hello.txt'])).toEqual({
      exitCode: 0,
      stdout: 'served by b',
      stderr: '',
    });
    expect(a.events).toContainEqual({ kind: 'mount', version: 3, client: '10.42.0.50', path: '/rootfs' });
    expect(b.events).toContainEqual({ kind: 'mount', version: 3, client: '10.42.0.50', path: '/rootfs' });
  });

  it('takes what its client writes into its own export only', async () => {
    const local = join(root, 'written.txt');
    await writeFile(local, 'written by the client of a\n');
    const copy = await nfsTool(clientA, 'nfs-cp', [local, 'nfs://10.42.0.1/rootfs/written.txt']);
    expect(copy.exitCode).toBe(0);
    expect(await readFile(join(a.export, 'written.txt'), 'utf8')).toBe('written by the client of a\n');
    expect((await readdir(b.export)).sort()).toEqual(['hello.txt']);
    const listing = await nfsTool(clientA, 'nfs-ls', ['nfs://10.42.0.1/rootfs']);
    expect(listing.stdout.split('\n').map((line) => line.split(/\s+/).pop())).toEqual(['hello.txt', 'written.txt']);
  });

  it('refuses a client at another address, and says so', async () => {
    const refused = await nfsTool(otherA, 'nfs-ls', ['nfs://10.42.0.1/rootfs']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('MNT3ERR_ACCES');
    expect(a.events).toContainEqual({ kind: 'refused', version: 3, client: '10.42.0.51', path: '/rootfs' });
    expect(a.events.filter((e) => e.kind === 'mount').map((e) => e.client)).not.toContain('10.42.0.51');
  });

  it('forwards its log without the per-call lines', () => {
    expect(a.lines.some((line) => line.includes('NFS SERVER INITIALIZED'))).toBe(true);
    expect(a.lines.filter((line) => line.includes('Calling NFS3_'))).toEqual([]);
  });

  it('leaves no process and no mount once stopped', async () => {
    const pids = [a.server.ganesha.pid, a.server.rpcbind.pid, b.server.ganesha.pid, b.server.rpcbind.pid];
    expect(pids.map(alive)).toEqual([true, true, true, true]);
    expect((await readFile(join(a.dir, 'nfs', 'ganesha.pid'), 'utf8')).trim()).toBe(String(a.server.ganesha.pid));
    await stopJob(a);
    expect(pids.map(alive)).toEqual([false, false, true, true]);
    await stopJob(b);
    expect(pids.map(alive)).toEqual([false, false, false, false]);
    expect(await hostMountsNaming('pxe-hil-')).toEqual([]);
    const { stdout } = await execa('ip', ['netns', 'list']);
    const namespaces = stdout.split('\n').map((line) => line.split(' ')[0]);
    expect(namespaces.filter((ns) => ns === a.net.netns || ns === b.net.netns)).toEqual([]);
  });
});

describe("the kernel's NFS client in a QEMU guest", () => {
  let job: Awaited<ReturnType<typeof startJob>>;
  let initrdPath: string;
  let kernel: string;

  beforeAll(async () => {
    const image = await nfsClientImage();
    kernel = image.kernel;
    initrdPath = join(root, 'nfs-client.cpio.gz');
    await writeFile(initrdPath, image.initrd);
    job = await startJob(`nfsc${process.pid}`, '10.42.0.10', { 'hello.txt': 'from the lower layer\n' }, true);
  });

  const guest = (address: string, on = job) =>
    runNfsClientGuest({
      netns: on.net.netns,
      tap: on.net.tap,
      address,
      server: on.net.serverIp,
      share: '/rootfs',
      mounts: ['v3@vers=3,nolock,noacl,tcp', 'v42@vers=4.2,tcp'],
      initrdPath,
      kernel,
    });

  it('mounts over NFSv3 and NFSv4.2, reads and writes; writes go to the overlay, never to its lower layer', async () => {
    const lines = (await guest('10.42.0.10/24')).filter((line) => line.startsWith('hil-nfs:'));
    expect(lines).toEqual([
      'hil-nfs: v3 mounted',
      'hil-nfs: v3 read from the lower layer',
      'hil-nfs: v3 wrote',
      'hil-nfs: v3 unmounted',
      'hil-nfs: v42 mounted',
      'hil-nfs: v42 read from the lower layer',
      'hil-nfs: v42 wrote',
      'hil-nfs: v42 unmounted',
      'hil-nfs: done',
    ]);
    expect((await readdir(job.lower)).sort()).toEqual(['hello.txt']);
    expect((await readdir(join(job.dir, 'upper'))).sort()).toEqual(['from-guest-v3.txt', 'from-guest-v42.txt']);
    expect(await readFile(join(job.dir, 'upper', 'from-guest-v42.txt'), 'utf8')).toBe('written over v42\n');
    expect(job.events).toEqual([
      { kind: 'mount', version: 3, client: '10.42.0.10', path: '/rootfs' },
      { kind: 'mount', version: 4, client: '10.42.0.10', path: '/rootfs' },
      { kind: 'unmount', version: 4, client: '10.42.0.10', path: '/rootfs' },
    ]);
  }, 180_000);

  it('refuses the guest at another address, over NFSv3 and NFSv4', async () => {
    job.events.length = 0;
    const lines = (await guest('10.42.0.11/24')).filter((line) => line.startsWith('hil-nfs:'));
    expect(lines).toEqual(['hil-nfs: v3 mount failed', 'hil-nfs: v42 mount failed', 'hil-nfs: done']);
    expect(job.events.filter((e) => e.kind !== 'refused')).toEqual([]);
    expect(new Set(job.events.map((e) => `${e.kind} v${e.version} ${e.client} ${e.path}`))).toEqual(
      new Set(['refused v3 10.42.0.11 /rootfs', 'refused v4 10.42.0.11 /rootfs']),
    );
  }, 180_000);

  it('serves NFSv4 alone when asked: NFSv3 finds no MOUNT service', async () => {
    const v4 = await startJob(`nfsd${process.pid}`, '10.42.0.10', { 'hello.txt': 'over NFSv4 only\n' }, false, [4]);
    const lines = (await guest('10.42.0.10/24', v4)).filter((line) => line.startsWith('hil-nfs:'));
    expect(lines).toEqual([
      'hil-nfs: v3 mount failed',
      'hil-nfs: v42 mounted',
      'hil-nfs: v42 read over NFSv4 only',
      'hil-nfs: v42 wrote',
      'hil-nfs: v42 unmounted',
      'hil-nfs: done',
    ]);
    expect(await readFile(join(v4.export, 'from-guest-v42.txt'), 'utf8')).toBe('written over v42\n');
    const rpcbind = await execa('ip', ['netns', 'exec', v4.net.netns, 'rpcinfo', '-p', v4.net.serverIp]);
    const programs = new Set(
      rpcbind.stdout
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/).slice(0, 2).join(' v')),
    );
    expect(programs).toEqual(new Set(['100000 v4', '100000 v3', '100000 v2', '100003 v4']));
    await stopJob(v4);
  }, 180_000);

  it("is stopped by recovery, as a killed job's: its processes are in the job's namespace, its mounts go with them", async () => {
    const killed = await startJob(`nfse${process.pid}`, '10.42.0.10', { 'hello.txt': 'left behind\n' }, true);
    const pids = [killed.server.ganesha.pid, killed.server.rpcbind.pid];
    // The harness of a job killed outright stops nothing; recovery finds the job by its directory and namespace.
    const report = await cleanupJob({ jobId: killed.id, dir: join(killed.dir, 'nfs'), netns: killed.net.netns }, 8000);
    expect(new Set(report.killed)).toEqual(new Set(pids));
    expect(report.namespaceRemoved).toBe(true);
    expect(pids.map(alive)).toEqual([false, false]);
    expect(await hostMountsNaming('pxe-hil-')).toEqual([]);
    expect(await readdir(killed.export)).toEqual([]);
  });

  it('takes its overlay mount away with it', async () => {
    await stopJob(job);
    expect(await hostMountsNaming('pxe-hil-')).toEqual([]);
    expect(await readdir(job.export)).toEqual([]);
  });
});
