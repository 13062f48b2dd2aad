/**
 * The job's NFS server (pxe/nfs-server.ts), started once its PXE server is up
 * when the board's root is on NFS: it exports the job's copy of the root
 * file system (stages/rootfs.ts) to the board's address only, inside the
 * job's namespace, and is stopped before the namespace goes (its teardown is
 * registered after the PXE server's, so it runs first). Its log goes to the
 * PXE log; the board's mounts become `nfs` step events (the 'root mounted'
 * milestone), and clients the export refuses are counted, the first few
 * named.
 */
import { join } from 'node:path';
import { NFS_NAMED_REFUSALS, type StepEventBody } from '../../core/events.js';
import type { NfsLogEvent } from '../../pxe/nfs-server.js';
import { startNfsServer } from '../../pxe/nfs-server.js';
import type { PxeServer } from '../../pxe/pxe-server.js';
import { type JobContext, stage } from '../job-context.js';
import type { BootPlan } from './plan-boot.js';
import { NFS_ROOT_PATH } from './rootfs.js';

export async function serveRootfs(job: JobContext, plan: BootPlan, pxe: PxeServer): Promise<void> {
  const rootfs = plan.rootfs;
  if (!rootfs) return;
  const { bus } = job;
  const board = plan.board.ip;
  const serverIp = pxe.network.serverIp;
  const report = nfsEventReporter(board, (event) => bus.emit(event));
  const server = await stage(
    job,
    'nfs',
    `starting the job's NFS server for ${board}`,
    () =>
      startNfsServer(
        {
          netns: pxe.netns,
          serverIp,
          clientIp: board,
          exportPath: rootfs.exportPath,
          pseudoPath: NFS_ROOT_PATH,
          stateDir: join(job.workDir, 'nfs'),
          versions: [3, 4],
        },
        { onLogLine: (source, line) => job.logLine(source, line), onEvent: report.onEvent },
      ),
    () => `ready: ${serverIp}:${NFS_ROOT_PATH} exports ${rootfs.exportPath} to ${board} only`,
  );
  bus.emit({ type: 'nfs', state: 'up', client: board, path: NFS_ROOT_PATH, durationMs: server.readyMs });
  job.teardown.add('stop the NFS server', async () => {
    const started = performance.now();
    await server.stop();
    bus.emit({ type: 'nfs', state: 'down', refused: report.refused(), durationMs: performance.now() - started });
  });
}

/**
 * Turns the server's log events into step events: the board's mounts and
 * unmounts (no other client can mount), and refusals, the first
 * NFS_NAMED_REFUSALS of them each an event, the rest counted.
 */
export function nfsEventReporter(
  board: string,
  emit: (event: StepEventBody) => void,
): { onEvent: (event: NfsLogEvent) => void; refused: () => number } {
  let refused = 0;
  return {
    onEvent(event) {
      const { kind, client, path, version } = event;
      if (kind === 'refused') {
        refused++;
        if (refused <= NFS_NAMED_REFUSALS) emit({ type: 'nfs', state: 'refused', client, path, version, refused });
      } else if (client === board) emit({ type: 'nfs', state: kind, client, path, version });
    },
    refused: () => refused,
  };
}
