/**
 * Where things live on the host: a run's artifacts (kept), a job's sockets and
 * pid files (removed at its end), and the image cache.
 */
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { LabFault } from './errors.js';

/** A path as a message shows it: relative to the current folder when inside it, else absolute. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

export function newJobId(): string {
  return randomBytes(4).toString('hex');
}

/** Jenkins' BUILD_TAG when present, else a sortable time stamp and the job id. */
export function runIdFor(jobId: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromJenkins = env.BUILD_TAG?.replace(/[^A-Za-z0-9._-]+/g, '-');
  if (fromJenkins) return fromJenkins;
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${jobId}`;
}

/**
 * Runtime state of jobs on this host (job records, sockets, pid files):
 * $PXE_HIL_RUNTIME_DIR, else /run/pxe-hil as root, else $XDG_RUNTIME_DIR/pxe-hil.
 * Never a shared place such as /tmp: core/private-dir.ts checks it before use.
 */
export function runtimeRoot(): string {
  return process.env.PXE_HIL_RUNTIME_DIR || defaultRuntimeRoot();
}

/** Target locks: $PXE_HIL_LOCK_DIR, else `locks` in the default runtime root (/run/pxe-hil/locks as root). */
export function lockDir(): string {
  return process.env.PXE_HIL_LOCK_DIR || join(defaultRuntimeRoot(), 'locks');
}

/**
 * An ordinary user's runtime directory is the one the login session made
 * for that user alone (XDG_RUNTIME_DIR, /run/user/<uid>); without it the run
 * stops and says so rather than fall back to a directory others can write.
 */
function defaultRuntimeRoot(): string {
  if (process.getuid?.() === 0) return '/run/pxe-hil';
  const session = process.env.XDG_RUNTIME_DIR;
  if (!session || !isAbsolute(session))
    throw new LabFault(
      'XDG_RUNTIME_DIR is not set, and pxe-hil keeps its locks, job records and sockets only in a directory of your own; fix: run it in a login session (which sets XDG_RUNTIME_DIR=/run/user/<uid>), or set XDG_RUNTIME_DIR (or PXE_HIL_RUNTIME_DIR and PXE_HIL_LOCK_DIR) to a directory only you can write',
    );
  return join(session, 'pxe-hil');
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
