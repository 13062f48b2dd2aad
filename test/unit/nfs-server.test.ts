import { describe, expect, it } from 'vitest';
import {
  GaneshaLogReader,
  ganeshaArguments,
  ganeshaConfig,
  holderArguments,
  type NfsServerPlan,
  parseGaneshaLine,
  planProblems,
  readinessCalls,
} from '../../harness/pxe/nfs-server.js';

function plan(overrides: Partial<NfsServerPlan> = {}): NfsServerPlan {
  return {
    netns: 'hil-0123abcd',
    serverIp: '10.42.0.1',
    clientIp: '10.42.0.10',
    exportPath: '/var/tmp/pxe-hil/0123abcd/rootfs',
    pseudoPath: '/rootfs',
    stateDir: '/run/pxe-hil/0123abcd/nfs',
    ...overrides,
  };
}

/** Lines as ganesha 4.3 logged them (date, epoch and host cut to what the reader needs). */
const PREFIX = '30/11/2026 22:30:38 : epoch 6b0df90e : vm : nfs-ganesha-22835';

describe('ganeshaConfig', () => {
  it('exports the one path to the one client, NFSv3 and NFSv4 over TCP, no grace period, its own recovery directory', () => {
    expect(ganeshaConfig(plan())).toBe(`# The NFS server of one pxe-hil job: one export, one client.
NFS_CORE_PARAM {
  Protocols = 3, 4;
  Bind_addr = 10.42.0.1;
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
  RecoveryRoot = "/run/pxe-hil/0123abcd/nfs/v4recov";
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
  Path = "/var/tmp/pxe-hil/0123abcd/rootfs";
  Pseudo = "/rootfs";
  Protocols = 3, 4;
  Transports = TCP;
  SecType = sys;
  Squash = No_Root_Squash;
  # Nobody gets in but the one client below.
  Access_Type = None;
  FSAL { Name = VFS; }
  CLIENT {
    Clients = 10.42.0.10;
    Access_Type = RW;
  }
}
`);
  });

  it('serves NFSv4 alone when asked', () => {
    const config = ganeshaConfig(plan({ versions: [4] }));
    expect(config.match(/Protocols = .*;/g)).toEqual(['Protocols = 4;', 'Protocols = 4;']);
  });
});

describe('planProblems', () => {
  it('finds none in a good plan', () => {
    expect(planProblems(plan())).toEqual([]);
  });

  it('refuses paths the config cannot quote, relative paths, bad addresses and versions', () => {
    expect(
      planProblems(
        plan({
          exportPath: '/srv/root fs',
          stateDir: 'state',
          clientIp: '10.42.0.300',
          serverIp: 'server',
          versions: [2 as 3],
        }),
      ),
    ).toEqual([
      "the NFS export path '/srv/root fs' has a space, quote, comma, colon or other character ganesha's config cannot take",
      "the NFS state directory 'state' is not an absolute path",
      "the NFS server address 'server' is not an IPv4 address",
      "the NFS client address '10.42.0.300' is not an IPv4 address",
      'NFS versions must be 3, 4 or both, not [2]',
    ]);
  });

  it('refuses an export under /run outside the state directory (the server gets a /run of its own)', () => {
    expect(planProblems(plan({ exportPath: '/run/user/1000/rootfs' }))).toEqual([
      "the NFS export path '/run/user/1000/rootfs' is under /run but not under the state directory /run/pxe-hil/0123abcd/nfs",
    ]);
    expect(planProblems(plan({ exportPath: '/run/pxe-hil/0123abcd/nfs/rootfs' }))).toEqual([]);
  });

  it("refuses '/' as the pseudo path, and overlay layers with a comma", () => {
    expect(
      planProblems(plan({ pseudoPath: '/', overlay: { lower: '/srv/a,b', upper: '/var/tmp/u', work: '/var/tmp/w' } })),
    ).toEqual([
      "the NFS overlay lower directory '/srv/a,b' has a space, quote, comma, colon or other character ganesha's config cannot take",
      "the NFS pseudo path must not be '/' (ganesha keeps it for NFSv4's root)",
    ]);
  });
});

describe('command lines', () => {
  it('starts the holder of the private mount namespace with the state directory, the export and the overlay', () => {
    const args = holderArguments(plan({ overlay: { lower: '/srv/root', upper: '/var/tmp/u', work: '/var/tmp/w' } }), [
      'rpcbind',
      '-f',
    ]);
    expect(args.slice(0, 6)).toEqual(['--mount', '--propagation', 'private', '--', 'sh', '-c']);
    expect(args.slice(7)).toEqual([
      'pxe-hil-nfs',
      '/run/pxe-hil/0123abcd/nfs',
      '/var/tmp/pxe-hil/0123abcd/rootfs',
      '/srv/root',
      '/var/tmp/u',
      '/var/tmp/w',
      'rpcbind',
      '-f',
    ]);
    expect(holderArguments(plan(), ['x']).slice(10, 13)).toEqual(['', '', '']);
  });

  it('runs ganesha in the foreground with its own config and pid file, logging to stderr', () => {
    expect(ganeshaArguments(plan())).toEqual([
      '-F',
      '-f',
      '/run/pxe-hil/0123abcd/nfs/ganesha.conf',
      '-p',
      '/run/pxe-hil/0123abcd/nfs/ganesha.pid',
      '-L',
      'STDERR',
    ]);
  });

  it('waits for NFS and MOUNT through rpcbind, or for NFSv4 alone', () => {
    expect(readinessCalls(plan())).toEqual([
      ['nfs', 3],
      ['mountd', 3],
      ['nfs', 4],
    ]);
    expect(readinessCalls(plan({ versions: [4] }))).toEqual([['nfs', 4]]);
  });
});

describe('GaneshaLogReader', () => {
  it('parses a log line into thread, component, level and message', () => {
    expect(
      parseGaneshaLine(
        `${PREFIX}[svc_5] mnt_Mnt :NFS3 :INFO :MOUNT: Export entry /rootfs does not allow access for client ::ffff:10.42.0.11`,
      ),
    ).toEqual({
      thread: 'svc_5',
      component: 'NFS3',
      level: 'INFO',
      message: 'MOUNT: Export entry /rootfs does not allow access for client ::ffff:10.42.0.11',
    });
    expect(parseGaneshaLine('not a ganesha line')).toBeUndefined();
  });

  it('makes an NFSv3 mount of the path and client of one thread, and keeps the per-call lines out', () => {
    const reader = new GaneshaLogReader('/rootfs', '10.42.0.10');
    expect(
      reader.read(`${PREFIX}[svc_8] mnt_Mnt :NFS3 :DEBUG :REQUEST PROCESSING: Calling MNT_MNT path=/rootfs`),
    ).toEqual({
      events: [],
      forward: false,
    });
    expect(
      reader.read(`${PREFIX}[svc_9] mnt_Mnt :NFS3 :DEBUG :REQUEST PROCESSING: Calling MNT_MNT path=/other`),
    ).toEqual({ events: [], forward: false });
    expect(
      reader.read(
        `${PREFIX}[svc_8] mnt_Mnt :NFS3 :DEBUG :MOUNT: Entry supports 1 different flavours handle=0x4300000112 for client ::ffff:10.42.0.10`,
      ),
    ).toEqual({ events: [{ kind: 'mount', version: 3, client: '10.42.0.10', path: '/rootfs' }], forward: true });
    expect(
      reader.read(
        `${PREFIX}[svc_6] nfs3_getattr :NFS3 :DEBUG :REQUEST PROCESSING: Calling NFS3_GETATTR File Handle V3: Len=24`,
      ),
    ).toEqual({ events: [], forward: false });
  });

  it("makes NFSv4 mounts and unmounts of the recovery directory's lines for the export's client only", () => {
    const reader = new GaneshaLogReader('/rootfs', '10.42.0.10');
    const dir = '/run/pxe-hil/0123abcd/nfs/v4recov/v4recov/node0';
    expect(
      reader.read(
        `${PREFIX}[svc_9] fs_add_clid :CLIENT ID :DEBUG :Created client dir [${dir}/::ffff:10.42.0.10-(20:Linux NFSv4.2 (none))]`,
      ).events,
    ).toEqual([{ kind: 'mount', version: 4, client: '10.42.0.10', path: '/rootfs' }]);
    expect(
      reader.read(
        `${PREFIX}[svc_4] fs_rm_clid_impl :CLIENT ID :DEBUG :Removed client dir (${dir}/::ffff:10.42.0.10-(20:Linux NFSv4.2 (none)))`,
      ).events,
    ).toEqual([{ kind: 'unmount', version: 4, client: '10.42.0.10', path: '/rootfs' }]);
    expect(
      reader.read(
        `${PREFIX}[svc_2] fs_add_clid :CLIENT ID :DEBUG :Created client dir [${dir}/::ffff:10.42.0.11-(20:Linux NFSv4.2 (none))]`,
      ),
    ).toEqual({ events: [], forward: false });
    expect(
      reader.read(`${PREFIX}[reaper] reaper_run :CLIENT ID :DEBUG :Now checking NFS4 clients for expiration`),
    ).toEqual({
      events: [],
      forward: false,
    });
  });

  it('makes refusals of NFSv3 MOUNT and NFSv4 lookups, and forwards lines above DEBUG as they are', () => {
    const reader = new GaneshaLogReader('/rootfs', '10.42.0.10');
    expect(
      reader.read(
        `${PREFIX}[svc_5] mnt_Mnt :NFS3 :INFO :MOUNT: Export entry /rootfs does not allow access for client ::ffff:10.42.0.11`,
      ).events,
    ).toEqual([{ kind: 'refused', version: 3, client: '10.42.0.11', path: '/rootfs' }]);
    expect(
      reader.read(
        `${PREFIX}[svc_6] nfs4_export_check_access :NFS4 :INFO :Access not allowed on Export_Id 1 /rootfs for client ::ffff:10.42.0.11`,
      ).events,
    ).toEqual([{ kind: 'refused', version: 4, client: '10.42.0.11', path: '/rootfs' }]);
    expect(reader.read(`${PREFIX}[main] nfs_start :NFS STARTUP :EVENT :             NFS SERVER INITIALIZED`)).toEqual({
      events: [],
      forward: true,
    });
  });
});
