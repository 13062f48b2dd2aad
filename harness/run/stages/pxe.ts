/**
 * The job on the host: its directory and record (core/job-record.ts), then
 * its own PXE server (DHCP, TFTP, HTTP in its own network namespace) serving
 * the boot plan's files to the board's MAC only. The server is begun before
 * the plan is made (its namespace and file server process start meanwhile)
 * and serves once the plan is there.
 */
import { chmodSync, closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { holdJobLock, type JobRecord, writeJobRecord } from '../../core/job-record.js';
import { runtimeRoot } from '../../core/paths.js';
import { printable } from '../../core/printable.js';
import { ensurePrivateDir, RUNTIME_DIR_ROLE } from '../../core/private-dir.js';
import { redact } from '../../core/redact.js';
import { PxeServer } from '../../pxe/pxe-server.js';
import { type JobContext, stage } from '../job-context.js';
import { boardOf, type BootPlan, labNetworkOf } from './plan-boot.js';

/** The job's record before it is wired: who owns the job, and what it boots. */
export function baseRecord(job: JobContext): JobRecord {
  return {
    jobId: job.jobId,
    target: job.target.name,
    image: job.image.name,
    imageFile: job.image.file,
    pid: process.pid,
    runId: job.runId,
    build: process.env.BUILD_TAG,
    sshHostKey: job.sshHostKey,
  };
}

/**
 * Makes the job's directory (0700 whatever the umask, in the checked runtime
 * root; removed at the end) and writes its record, so the host knows the job from here on.
 */
export async function recordJob(job: JobContext): Promise<void> {
  ensurePrivateDir(runtimeRoot(), RUNTIME_DIR_ROLE);
  mkdirSync(job.workDir, { mode: 0o700 });
  chmodSync(job.workDir, 0o700);
  const removeDir = () => rm(job.workDir, { recursive: true, force: true });
  // The job's lock says it is alive (core/job-record.ts): taken before the record, let go after the directory.
  const lock = await holdJobLock(job.workDir).catch(async (error: unknown) => {
    await removeDir();
    throw error;
  });
  job.teardown.add('release the job lock', () => lock.release());
  job.teardown.add('remove the job directory', removeDir);
  await writeJobRecord(job.workDir, baseRecord(job));
}

/**
 * Begins the job's PXE server before the boot plan is made: its namespace
 * (or macvlan) and its file server process start while the image is prepared.
 */
export function beginPxeServer(job: JobContext): PxeServer {
  job.signal.throwIfAborted();
  const { bus, target } = job;
  const pxeLog = openSync(job.results!.pxeLog, 'a');
  job.teardown.add('close the PXE log', () => closeSync(pxeLog));
  job.logLine = (source, line) =>
    writeSync(pxeLog, `${(bus.now() / 1000).toFixed(3)} ${source}: ${printable(redact(line), 4096)}\n`);
  const server = PxeServer.begin({
    jobId: job.jobId,
    workDir: job.workDir,
    bus,
    board: boardOf(target),
    lab: labNetworkOf(target),
    onLogLine: job.logLine,
  });
  job.teardown.add('stop the PXE server', () => server.stop());
  return server;
}

/** Serves the boot plan: the file server gets its table, dnsmasq its board. */
export async function startPxeServer(job: JobContext, plan: BootPlan, server: PxeServer): Promise<PxeServer> {
  const network = job.target.network;
  const dhcp =
    network.kind === 'lab' ? `${network.mode === 'proxy' ? 'proxyDHCP' : 'DHCP'} on ${network.interface}` : 'DHCP';
  return stage(
    job,
    'pxe',
    "starting the job's PXE server",
    () => server.serve({ boot: plan.entry, files: plan.files, loader: job.target.boot.loader }),
    (served) => `ready: namespace ${served.netns}, ${dhcp} for ${plan.board.mac}, TFTP and ${served.baseUrl}`,
  );
}

/** The address the board leased from the job (the last lease for its MAC), read when suites need it. */
export function followLease(job: JobContext, mac: string): () => string | undefined {
  let leased: string | undefined;
  const stop = job.bus.subscribe((event) => {
    if (event.type === 'lease' && event.mac === mac) leased = event.ip;
  });
  job.teardown.add('stop following leases', stop);
  return () => leased;
}
