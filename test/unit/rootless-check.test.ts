import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeRootlessProblem,
  needsUserNamespace,
  readHostFacts,
  rootlessProblem,
  type HostFacts,
} from '../../harness/run/rootless-check.js';
import { inUserNamespace } from '../../harness/core/user-namespace.js';
import { NAMESPACE_SETUP, userNamespaceCommand } from '../../harness/run/rootless.js';

/** A standard Debian 12 host seen by an ordinary user: user namespaces on, /dev/net/tun 0666. */
const debian: HostFacts = {
  uid: 1000,
  capEff: 0n,
  maxUserNamespaces: '63704\n',
  unprivilegedUsernsClone: '1\n',
  tun: 'ok',
  tunMode: 0o20666,
  unshare: true,
};

const message = (facts: Partial<HostFacts>) => {
  const problem = rootlessProblem({ ...debian, ...facts });
  return problem && describeRootlessProblem(problem);
};

describe('rootlessProblem', () => {
  it('finds nothing missing on a standard Debian or Ubuntu host', () => {
    expect(rootlessProblem(debian)).toBeUndefined();
    expect(
      rootlessProblem({ ...debian, unprivilegedUsernsClone: undefined, apparmorRestrictUnprivilegedUserns: '0\n' }),
    ).toBeUndefined();
  });

  it('names each missing piece and the command that fixes it', () => {
    expect(message({ maxUserNamespaces: '0\n' })).toBe(
      'running without root needs user namespaces, which this host turns off (user.max_user_namespaces = 0); fix: sudo sysctl -w user.max_user_namespaces=15000 (or run as root)',
    );
    expect(message({ unprivilegedUsernsClone: '0\n' })).toBe(
      'running without root needs user namespaces for ordinary users, which this host turns off (kernel.unprivileged_userns_clone = 0); fix: sudo sysctl -w kernel.unprivileged_userns_clone=1 (or run as root)',
    );
    expect(message({ apparmorRestrictUnprivilegedUserns: '1\n' })).toBe(
      'running without root needs user namespaces with capabilities, which AppArmor restricts for ordinary users (kernel.apparmor_restrict_unprivileged_userns = 1); fix: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or run as root)',
    );
    expect(message({ tun: 'no-access', tunMode: 0o20600 })).toBe(
      'running without root needs read-write access to /dev/net/tun (tap devices for QEMU boards, mode 0600); fix: sudo chmod 0666 /dev/net/tun (or run as root)',
    );
    expect(message({ tun: 'missing', tunMode: undefined })).toBe(
      'running without root needs /dev/net/tun (tap devices for QEMU boards), which does not exist; fix: sudo modprobe tun (or run as root)',
    );
    expect(message({ unshare: false })).toBe(
      'running without root needs unshare(1) from util-linux, which is not on PATH; fix: sudo apt-get install util-linux (or run as root)',
    );
  });

  it('names the first of several missing pieces: unshare, then the sysctls, then the tun device', () => {
    expect(rootlessProblem({ ...debian, unshare: false, maxUserNamespaces: '0', tun: 'missing' })?.fix).toBe(
      'sudo apt-get install util-linux',
    );
    expect(rootlessProblem({ ...debian, maxUserNamespaces: '0', unprivilegedUsernsClone: '0' })?.fix).toBe(
      'sudo sysctl -w user.max_user_namespaces=15000',
    );
    expect(rootlessProblem({ ...debian, apparmorRestrictUnprivilegedUserns: '1', tun: 'missing' })?.fix).toBe(
      'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
    );
  });
});

describe('needsUserNamespace', () => {
  it('is needed without CAP_NET_ADMIN or CAP_SYS_ADMIN, not with both', () => {
    expect(needsUserNamespace({ capEff: 0n })).toBe(true);
    expect(needsUserNamespace({ capEff: 1n << 12n })).toBe(true);
    expect(needsUserNamespace({ capEff: 1n << 21n })).toBe(true);
    expect(needsUserNamespace({ capEff: (1n << 12n) | (1n << 21n) })).toBe(false);
    expect(needsUserNamespace({ capEff: 0x1ffffffffffn })).toBe(false);
  });
});

describe('inUserNamespace', () => {
  it('tells the initial namespace (every uid mapped) from a user namespace mapping one uid', () => {
    expect(inUserNamespace('         0          0 4294967295\n')).toBe(false);
    expect(inUserNamespace('         0       1000          1\n')).toBe(true);
  });
});

describe('readHostFacts', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('reads the sysctls, the capabilities and the tun device from the paths it is given', () => {
    dir = mkdtempSync(join(tmpdir(), 'hil-rootless-facts-'));
    mkdirSync(join(dir, 'sys/user'), { recursive: true });
    mkdirSync(join(dir, 'sys/kernel'), { recursive: true });
    writeFileSync(join(dir, 'sys/user/max_user_namespaces'), '0\n');
    writeFileSync(join(dir, 'sys/kernel/apparmor_restrict_unprivileged_userns'), '1\n');
    writeFileSync(
      join(dir, 'status'),
      'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t0000000000003000\nCapBnd:\t000001ffffffffff\n',
    );
    const facts = readHostFacts({ procSys: join(dir, 'sys'), status: join(dir, 'status'), tun: join(dir, 'no-tun') });
    expect(facts).toMatchObject({
      capEff: 0x3000n,
      maxUserNamespaces: '0\n',
      unprivilegedUsernsClone: undefined,
      apparmorRestrictUnprivilegedUserns: '1\n',
      tun: 'missing',
      tunMode: undefined,
    });
    expect(needsUserNamespace(facts)).toBe(true);
    expect(rootlessProblem({ ...facts, unshare: true })?.fix).toBe('sudo sysctl -w user.max_user_namespaces=15000');
  });
});

describe('userNamespaceCommand', () => {
  it('runs the same command line under unshare, with the user runtime and lock directories', () => {
    const command = userNamespaceCommand(
      {
        execPath: '/usr/bin/node',
        execArgv: ['--import', 'tsx'],
        argv: ['/repo/harness/cli/main.ts', '--target', 'qemu-x86'],
      },
      { runtime: '/run/user/1000/pxe-hil', locks: '/run/user/1000/pxe-hil/locks' },
    );
    expect(command).toEqual({
      file: 'unshare',
      args: [
        '--user',
        '--map-root-user',
        '--net',
        '--mount',
        '--',
        'sh',
        '-c',
        NAMESPACE_SETUP,
        'pxe-hil-namespaces',
        '/usr/bin/node',
        '--import',
        'tsx',
        '/repo/harness/cli/main.ts',
        '--target',
        'qemu-x86',
      ],
      env: {
        PXE_HIL_USER_NAMESPACE: '1',
        PXE_HIL_RUNTIME_DIR: '/run/user/1000/pxe-hil',
        PXE_HIL_LOCK_DIR: '/run/user/1000/pxe-hil/locks',
      },
    });
  });
});
