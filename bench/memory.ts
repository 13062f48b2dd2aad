/**
 * Peak memory of the harness during a boot: the harness process itself and
 * its file server process (found by its `--job <id>` argument once the PXE
 * server is up), sampled from /proc/<pid>/status every few milliseconds. The
 * file server's VmHWM is its true peak; the harness's peak is counted from a
 * reset of its VmHWM at the start of the run.
 *
 * Reference: proc(5) (/proc/<pid>/status VmRSS and VmHWM, /proc/<pid>/clear_refs).
 */
import { memoryOf, pidsWithArgs, resetPeakRss } from './support.js';

export type PeakMemory = { harnessMiB: number; fileServerMiB: number };

export class MemorySampler {
  private harnessPeak = 0;
  private fileServerPeak = 0;
  private fileServerPid: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly harnessPid: number = process.pid) {}

  start(intervalMs = 20): void {
    resetPeakRss(this.harnessPid);
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Starts following the job's file server, once it runs. */
  followFileServer(jobId: string): void {
    const [pid] = pidsWithArgs('file-server-process', '--job', jobId).filter((p) => p !== process.pid);
    if (pid === undefined) throw new Error(`no file server process for job ${jobId}`);
    this.fileServerPid = pid;
    this.sample();
  }

  private sample(): void {
    const own = memoryOf(this.harnessPid);
    if (own) this.harnessPeak = Math.max(this.harnessPeak, own.rssMiB, own.hwmMiB);
    if (this.fileServerPid !== undefined) {
      const server = memoryOf(this.fileServerPid);
      if (server) this.fileServerPeak = Math.max(this.fileServerPeak, server.rssMiB, server.hwmMiB);
    }
  }

  dispose(): void {
    clearInterval(this.timer);
  }

  stop(): PeakMemory {
    this.dispose();
    this.sample();
    if (this.fileServerPid === undefined) throw new Error('the file server process was never seen');
    return { harnessMiB: this.harnessPeak, fileServerMiB: this.fileServerPeak };
  }
}
