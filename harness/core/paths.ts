/**
 * Where things live on the host: a run's artifacts (kept), a job's sockets and
 * pid files (removed at its end), and the image cache.
 */
import { randomBytes } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export function newJobId(): string {
  return randomBytes(4).toString('hex');
}

/** Jenkins' BUILD_TAG when present, else a sortable time stamp and the job id. */
export function runIdFor(jobId: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromJenkins = env.BUILD_TAG?.replace(/[^A-Za-z0-9._-]+/g, '-');
  if (fromJenkins) return fromJenkins;
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${jobId}`;
}

/** Runtime state of jobs on this host: /run/pxe-hil as root, else a per-user directory. */
export function runtimeRoot(): string {
  if (process.env.PXE_HIL_RUNTIME_DIR) return process.env.PXE_HIL_RUNTIME_DIR;
  return process.getuid?.() === 0 ? '/run/pxe-hil' : join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), 'pxe-hil');
}

export function jobWorkDir(jobId: string): string {
  return join(runtimeRoot(), jobId);
}

/** The job's own copies of the files it serves (the user's kernel, initrd...), on disk; removed at its end. */
export function jobFilesDir(jobId: string): string {
  return join(cacheDir(), 'jobs', jobId);
}

/** The job's copy of the board's root file system (inside its files, so it goes with them); removed at its end. */
export function jobRootfsDir(jobId: string): string {
  return join(jobFilesDir(jobId), 'rootfs');
}

export type ResultPaths = {
  dir: string;
  junit: string;
  consoleLog: string;
  consoleRaw: string;
  eventLog: string;
  pxeLog: string;
  timeline: string;
  allureResults: string;
};

export function resultPaths(resultsRoot: string, target: string, runId: string): ResultPaths {
  const dir = join(resultsRoot, target, runId);
  return {
    dir,
    junit: join(dir, 'junit.xml'),
    consoleLog: join(dir, 'console.log'),
    consoleRaw: join(dir, 'console.raw'),
    eventLog: join(dir, 'events.jsonl'),
    pxeLog: join(dir, 'pxe.log'),
    timeline: join(dir, 'timeline.svg'),
    allureResults: join(dir, 'allure-results'),
  };
}

/** Where images and packages are cached: $PXE_HIL_CACHE, else $XDG_CACHE_HOME/pxe-hil, else ~/.cache/pxe-hil. */
export function cacheDir(): string {
  if (process.env.PXE_HIL_CACHE) return process.env.PXE_HIL_CACHE;
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pxe-hil');
}
