/**
 * The job's NFS server: one nfs-ganesha instance (VFS back end) serving one
 * export, the job's copy of a root filesystem, to one client address, the
 * board's; every other address is refused. It runs inside the job's network
 * namespace and in a private mount namespace of its own with its own /run, so
 * that its rpcbind (NFSv3 asks rpcbind for the MOUNT port; it keeps its socket
 * and lock under /run) and its D-Bus attempts never meet another job's or the
 * host's. That mount namespace is held by its first process, rpcbind (also
 * for NFSv4 alone, where the readiness check asks it); ganesha joins it with nsenter. The mounts in
 * it (the /run tmpfs, an overlay for the export) vanish with its last process,
 * so a killed job leaves no mount behind.
 *
 * Config, pid file and NFSv4 recovery directory live in the job's state
 * directory; the NFSv4 grace period is off (Graceless), so a client mounts at
 * once. Owners go over NFSv4 as numbers: the board's names are not the host's.
 * Which client mounted, or was refused, is read from ganesha's log (see
 * GaneshaLogReader); its DEBUG lines (one per NFS call) are not forwarded.
 *
 * Tested against: nfs-ganesha 4.3 with nfs-ganesha-vfs (Debian 12), rpcbind 1.2.6,
 * util-linux 2.38 (unshare, nsenter), Linux 6.x; clients: libnfs 4.0 (nfs-ls, nfs-cp),
 * the NFS client of Debian's 6.1 cloud kernel (NFSv3 and NFSv4.2) and Debian 12's
 * initramfs (klibc nfsmount, NFSv3).
 * Reference: ganesha-config(8), ganesha-core-config(8), ganesha-export-config(8),
 * ganesha-log-config(8), rpcbind(8), rpcinfo(8), unshare(1), nsenter(1), overlayfs
 * (Documentation/filesystems/overlayfs.rst, "NFS export").
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { isAbsolute, join, relative } from 'node:path';
import { Deadline, TimeoutError } from '../core/deadline.js';
import { LabFault, UsageError } from '../core/errors.js';
import { run, startChild, type Child } from '../core/process.js';

export type NfsVersion = 3 | 4;

/** Layers of an overlay mounted at the export path in the server's own mount namespace (see rootfs-copy.ts). */
export type ExportOverlay = { lower: string; upper: string; work: string };

export type NfsServerPlan = {
  /** The job's network namespace. */
  netns: string;
  /** The server's address in it; ganesha binds only there. */
  serverIp: string;
  /** The only client let in: the board's address. */
  clientIp: string;
  /** The directory exported (the job's copy), absolute. */
  exportPath: string;
  /** The path clients mount, for NFSv3 and NFSv4 alike, e.g. '/rootfs'. */
  pseudoPath: string;
  /** The job's directory for this server: config, pid file, NFSv4 recovery directory. */
  stateDir: string;
  /** Default [3, 4]. */
  versions?: NfsVersion[];
  /** When given, the export path is this overlay, mounted in the server's own mount namespace. */
  overlay?: ExportOverlay;
};

export type NfsServerFiles = { config: string; pidFile: string; recoveryRoot: string };

export function nfsServerFiles(stateDir: string): NfsServerFiles {
  return {
    config: join(stateDir, 'ganesha.conf'),
    pidFile: join(stateDir, 'ganesha.pid'),
    recoveryRoot: join(stateDir, 'v4recov'),
  };
}

/** Characters that would break a ganesha config string, an overlay option or a command line. */
const UNSAFE_PATH = /[\s",:;{}#'\\]/;

/** Problems with a plan, each one line; empty when it can be served. */
export function planProblems(plan: NfsServerPlan): string[] {
  const problems: string[] = [];
  const paths: [string, string][] = [
    ['export path', plan.exportPath],
    ['state directory', plan.stateDir],
    ['pseudo path', plan.pseudoPath],
    ...(plan.overlay
      ? ([
          ['overlay lower directory', plan.overlay.lower],
          ['overlay upper directory', plan.overlay.upper],
          ['overlay work directory', plan.overlay.work],
        ] as [string, string][])
      : []),
  ];
  for (const [what, path] of paths) {
    if (!isAbsolute(path)) problems.push(`the NFS ${what} '${path}' is not an absolute path`);
    else if (UNSAFE_PATH.test(path))
      problems.push(
        `the NFS ${what} '${path}' has a space, quote, comma, colon or other character ganesha's config cannot take`,
      );
    // The server's mount namespace gets a /run of its own: only the state directory is carried over into it.
    else if (what !== 'pseudo path' && isUnder(path, '/run') && !isUnder(path, plan.stateDir))
      problems.push(`the NFS ${what} '${path}' is under /run but not under the state directory ${plan.stateDir}`);
  }
  if (plan.pseudoPath === '/') problems.push(`the NFS pseudo path must not be '/' (ganesha keeps it for NFSv4's root)`);
  for (const [what, ip] of [
    ['server', plan.serverIp],
    ['client', plan.clientIp],
  ] as const) {
    if (!isIPv4(ip)) problems.push(`the NFS ${what} address '${ip}' is not an IPv4 address`);
  }
  const versions = plan.versions ?? [3, 4];
  if (versions.length === 0 || versions.some((v) => v !== 3 && v !== 4))
    problems.push(`NFS versions must be 3, 4 or both, not [${versions.join(', ')}]`);
  return problems;
}

function isUnder(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The ganesha.conf of one job's server. */
export function ganeshaConfig(plan: NfsServerPlan): string {
  const versions = (plan.versions ?? [3, 4]).join(', ');
  const files = nfsServerFiles(plan.stateDir);
  return `# The NFS server of one pxe-hil job: one export, one client.
NFS_CORE_PARAM {
  Protocols = ${versions};
  Bind_addr = ${plan.serverIp};
  # TCP only; no lock manager (the board mounts with nolock); no quota service.
  Enable_UDP = false;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  # NFSv3 mounts the same path as NFSv4: the pseudo path.
  mount_path_pseudo = true;
}
NFSv4 {
  Graceless = true;
  RecoveryBackend = fs;
  RecoveryRoot = "${files.recoveryRoot}";
  Only_Numeric_Owners = true;
}
LOG {
  Default_Log_Level = EVENT;
  # MOUNT requests (DEBUG), NFSv4 clients coming and going (DEBUG), refused clients (INFO):
  # what the job's NFS events are made of. No D-Bus here (no bus in the server's /run); RPC at WARN.
  COMPONENTS { NFSPROTO = DEBUG; CLIENTID = DEBUG; NFS_V4 = INFO; DBUS = NULL; TIRPC = WARN; }
}
EXPORT {
  Export_Id = 1;
  Path = "${plan.exportPath}";
  Pseudo = "${plan.pseudoPath}";
  Protocols = ${versions};
  Transports = TCP;
  SecType = sys;
  Squash = No_Root_Squash;
  # Nobody gets in but the one client below.
  Access_Type = None;
  FSAL { Name = VFS; }
  CLIENT {
    Clients = ${plan.clientIp};
    Access_Type = RW;
  }
}
`;
}

/**
 * The first process of the server's mount namespace: it mounts the export's
 * overlay (when there is one) and a /run of its own, carries the state
 * directory over into it (from its cwd, which still reaches the directory /run hid:
 * by /proc/self/cwd, not by its path, which mount would resolve in the new /run), then
 * becomes rpcbind.
 * Arguments: state directory, export path, overlay lower, upper, work (empty: none), then the program.
 */
export const HOLDER_SCRIPT = `set -e
state=$1 export=$2 lower=$3 upper=$4 work=$5
shift 5
cd -- "$state"
[ -z "$lower" ] || mount -t overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work,index=on,nfs_export=on" pxe-hil-rootfs "$export"
mount -t tmpfs -o mode=0755,size=1m pxe-hil-run /run
mkdir -p -- "$state"
mount --no-canonicalize --rbind /proc/self/cwd "$state"
exec "$@"`;

export function holderArguments(plan: NfsServerPlan, program: readonly string[]): string[] {
  const o = plan.overlay;
  return [
    '--mount',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    HOLDER_SCRIPT,
    'pxe-hil-nfs',
    plan.stateDir,
    plan.exportPath,
    o?.lower ?? '',
    o?.upper ?? '',
    o?.work ?? '',
    ...program,
  ];
}

export function ganeshaArguments(plan: NfsServerPlan): string[] {
  const files = nfsServerFiles(plan.stateDir);
  return ['-F', '-f', files.config, '-p', files.pidFile, '-L', 'STDERR'];
}

export type NfsLogEvent =
  | { kind: 'mount'; version: NfsVersion; client: string; path: string }
  | { kind: 'unmount'; version: NfsVersion; client: string; path: string }
  | { kind: 'refused'; version: NfsVersion; client: string; path: string };

export type GaneshaLogLine = { thread: string; component: string; level: string; message: string };

const LOG_LINE = /\[([^\]]+)\] \S+ :([^:]+?) :([A-Z_]+) :(.*)$/;

export function parseGaneshaLine(line: string): GaneshaLogLine | undefined {
  const match = LOG_LINE.exec(line);
  if (!match) return undefined;
  return { thread: match[1]!, component: match[2]!, level: match[3]!, message: match[4]! };
}

/** ganesha's clients are IPv6 socket addresses; an IPv4 client reads as ::ffff:a.b.c.d. */
function plainAddress(address: string): string {
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

const MNT_CALL = /^REQUEST PROCESSING: Calling MNT_MNT path=(\S+)/;
const MNT_DONE = /^MOUNT: Entry supports \d+ different flavours .* for client (\S+)$/;
const MNT_REFUSED = /^MOUNT: Export entry (\S+) does not allow access for client (\S+)$/;
const V4_REFUSED = /^Access not allowed on Export_Id \d+ (\S+) for client (\S+)$/;
/** The NFSv4 recovery directory (RecoveryBackend fs) has one directory per confirmed client, named by its address. */
const V4_CLIENT_DIR = /^(Created|Removed) client dir [[(](?:.*\/)?([0-9A-Fa-f:.]+)-\(/;

/**
 * Reads ganesha's log, line by line, into mount events: an NFSv3 MOUNT
 * request (its path on one line, its client on a later one of the same
 * thread); the export's own client confirmed over NFSv4 (its first mount) or
 * destroyed on its last unmount (NFSv4.1 and later; an NFSv4.0 client's state
 * goes when its lease ends); and a client refused. Any address may become an
 * NFSv4 client, as that is not tied to an export, so only the export's own
 * client makes NFSv4 mount events; another one makes a refusal once it looks
 * up the export. NFSv3 clients (Linux, klibc, libnfs) send no UMNT, so an
 * NFSv3 unmount is not in the log. Lines at DEBUG are not forwarded unless
 * they make an event.
 */
export class GaneshaLogReader {
  private readonly pathOfThread = new Map<string, string>();

  /** `pseudoPath`: the export's path, which NFSv4's client lines do not name; `clientIp`: the export's client. */
  constructor(
    private readonly pseudoPath: string,
    private readonly clientIp: string,
  ) {}

  read(line: string): { events: NfsLogEvent[]; forward: boolean } {
    const parsed = parseGaneshaLine(line);
    if (!parsed) return { events: [], forward: true };
    const events = this.eventsOf(parsed);
    return { events, forward: events.length > 0 || !parsed.level.includes('DEBUG') };
  }

  private eventsOf({ thread, message }: GaneshaLogLine): NfsLogEvent[] {
    const call = MNT_CALL.exec(message);
    if (call) {
      this.pathOfThread.set(thread, call[1]!);
      return [];
    }
    const mounted = MNT_DONE.exec(message);
    if (mounted) {
      const path = this.pathOfThread.get(thread) ?? '';
      return [{ kind: 'mount', version: 3, client: plainAddress(mounted[1]!), path }];
    }
    const refused = MNT_REFUSED.exec(message) ?? V4_REFUSED.exec(message);
    if (refused) {
      const version = message.startsWith('MOUNT:') ? 3 : 4;
      return [{ kind: 'refused', version, client: plainAddress(refused[2]!), path: refused[1]! }];
    }
    const client = V4_CLIENT_DIR.exec(message);
    if (client && plainAddress(client[2]!) === this.clientIp) {
      const kind = client[1] === 'Created' ? 'mount' : 'unmount';
      return [{ kind, version: 4, client: plainAddress(client[2]!), path: this.pseudoPath }];
    }
    return [];
  }
}

export type NfsServerHandlers = {
  /** ganesha's and rpcbind's lines, less ganesha's DEBUG lines. */
  onLogLine?: (source: 'ganesha' | 'rpcbind', line: string) => void;
  onEvent?: (event: NfsLogEvent) => void;
};

export type NfsServer = {
  ganesha: Child;
  /** rpcbind: the first process of the server's mount namespace. */
  rpcbind: Child;
  /** Milliseconds from the first process started to the server answering. */
  readyMs: number;
  /** Stops ganesha, then rpcbind, by pid; the server's mounts go with them. */
  stop(): Promise<void>;
};

const READY_TIMEOUT_MS = 15_000;
/** ganesha takes about 2 s to exit on SIGTERM. */
const GANESHA_GRACE_MS = 6000;

/** Starts the server in the job's namespace and waits until it answers NFS (and MOUNT, for NFSv3) calls. */
export async function startNfsServer(plan: NfsServerPlan, handlers: NfsServerHandlers = {}): Promise<NfsServer> {
  const problems = planProblems(plan);
  if (problems.length > 0) throw new UsageError(`cannot serve the NFS root: ${problems.join('; ')}`);
  const files = nfsServerFiles(plan.stateDir);
  await mkdir(files.recoveryRoot, { recursive: true, mode: 0o700 });
  await writeFile(files.config, ganeshaConfig(plan));
  const started = performance.now();
  const log: string[] = [];
  const reader = new GaneshaLogReader(plan.pseudoPath, plan.clientIp);
  const onGaneshaLine = (line: string) => {
    const { events, forward } = reader.read(line);
    if (forward) {
      log.push(line);
      if (log.length > 20) log.shift();
      handlers.onLogLine?.('ganesha', line);
    }
    for (const event of events) handlers.onEvent?.(event);
  };
  const onRpcbindLine = (line: string) => {
    log.push(line);
    handlers.onLogLine?.('rpcbind', line);
  };
  const deadline = Deadline.in(READY_TIMEOUT_MS, `the NFS server in ${plan.netns} to answer`);
  const rpcbind = startChild('rpcbind', 'unshare', holderArguments(plan, ['rpcbind', '-f']), {
    netns: plan.netns,
    onStdoutLine: onRpcbindLine,
    onStderrLine: onRpcbindLine,
  });
  let ganesha: Child | undefined;
  try {
    await untilAnswers(deadline, plan, [['portmapper', 2]], rpcbind, log);
    ganesha = startChild(
      'ganesha',
      'nsenter',
      ['--target', String(rpcbind.pid), '--mount', '--net', '--', 'ganesha.nfsd', ...ganeshaArguments(plan)],
      { onStdoutLine: onGaneshaLine, onStderrLine: onGaneshaLine },
    );
    await untilAnswers(deadline, plan, readinessCalls(plan), ganesha, log);
  } catch (error) {
    await ganesha?.stop(GANESHA_GRACE_MS);
    await rpcbind.stop(2000);
    if (error instanceof TimeoutError)
      throw new LabFault(
        `the NFS server in ${plan.netns} did not answer within ${READY_TIMEOUT_MS / 1000} s: ${log.slice(-3).join(' | ')}`,
      );
    throw error;
  }
  const server = ganesha;
  return {
    ganesha: server,
    rpcbind,
    readyMs: performance.now() - started,
    async stop() {
      await server.stop(GANESHA_GRACE_MS);
      await rpcbind.stop(2000);
    },
  };
}

type RpcCall = [program: string, version: number];

/**
 * The RPC NULL calls (rpcinfo, through the server's rpcbind) that answer once
 * the server serves: NFS of each version, and MOUNT for NFSv3. rpcbind runs
 * for NFSv4 alone too: rpcinfo asks it even for a given port.
 */
export function readinessCalls(plan: NfsServerPlan): RpcCall[] {
  const versions = plan.versions ?? [3, 4];
  return [
    ...(versions.includes(3)
      ? ([
          ['nfs', 3],
          ['mountd', 3],
        ] as RpcCall[])
      : []),
    ...(versions.includes(4) ? ([['nfs', 4]] as RpcCall[]) : []),
  ];
}

async function untilAnswers(
  deadline: Deadline,
  plan: NfsServerPlan,
  calls: RpcCall[],
  child: Child,
  log: string[],
): Promise<void> {
  const answers = async (call: RpcCall) => {
    const [program, version] = call;
    const args = ['-T', 'tcp', plan.serverIp, program, String(version)];
    return run('rpcinfo', args, { netns: plan.netns, timeoutMs: 2000 }).then(
      () => true,
      () => false,
    );
  };
  await deadline.poll(async () => {
    if (!child.running)
      throw new LabFault(
        `${child.name} exited (code ${child.exit?.exitCode ?? child.exit?.signal}) before the NFS server answered: ${log.slice(-3).join(' | ')}. Fix: check that nfs-ganesha, nfs-ganesha-vfs and rpcbind are installed (hil doctor).`,
      );
    for (const call of calls) if (!(await answers(call))) return undefined;
    return true;
  }, 25);
}
