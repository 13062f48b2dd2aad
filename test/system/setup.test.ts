/**
 * The host set-up: `npm run hil` sets up what a run needs (scripts/setup)
 * and nothing of the tests'; the tests' peers (scripts/setup-tests) are
 * never left enabled as services of the host; an ordinary user's set-up
 * installs nothing and names what is missing; and a run started through
 * npm, set-up included, leaves no new daemon listening.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobIdOf, NO_RESIDUE, REPO, residueOf, resultsDirOf, resultsRoot } from '../support/hil.js';
import { runAsUser } from '../support/unprivileged.js';

/** The peers the tests talk to and the clients they use: none of them is a run's. */
const TEST_PEERS = [
  'curl',
  'libxml2-utils',
  'cpio',
  'default-jre-headless',
  'groovy',
  'openssh-client',
  'tftp-hpa',
  'openipmi',
  'snmpd',
  'pdudaemon',
  'ser2net',
  'tmux',
  'python3-yaml',
  'libnfs-utils',
  'mmdebstrap',
  'attr',
];
const TEST_SERVICES = ['snmpd', 'ser2net', 'pdudaemon', 'openipmi'];

const list = (script: string) =>
  execaSync('bash', [script, '--list'], { cwd: REPO }).stdout.split('\n').filter(Boolean);

let results: string;
beforeAll(() => {
  results = resultsRoot();
});
afterAll(() => rmSync(results, { recursive: true, force: true }));

/** Listening sockets (ss -ltnup): 'tcp 0.0.0.0:16421', one a line. */
function listeners(): Set<string> {
  return new Set(
    execaSync('ss', ['-ltnupH'], { reject: false })
      .stdout.split('\n')
      .filter(Boolean)
      .map((line) => {
        const [netid, , , , local] = line.split(/\s+/);
        return `${netid} ${local}`;
      }),
  );
}

describe('host set-up', () => {
  it("scripts/setup installs a run's packages only; the test peers are scripts/setup-tests'", () => {
    expect(list('scripts/setup')).toEqual([
      'qemu-system-x86',
      'ipxe-qemu',
      'seabios',
      'ovmf',
      'qemu-system-arm',
      'u-boot-qemu',
      'u-boot-tools',
      'dnsmasq-base',
      'nftables',
      'iproute2',
      'util-linux',
      'socat',
      'ipmitool',
      'ca-certificates',
      'nfs-ganesha',
      'nfs-ganesha-vfs',
      'rpcbind',
      'xz-utils',
      'zstd',
    ]);
    expect(list('scripts/setup-tests')).toEqual(TEST_PEERS);
    expect(list('scripts/setup').filter((name) => TEST_PEERS.includes(name))).toEqual([]);
  });

  it('leaves no test peer enabled as a service of the host', async () => {
    const setup = await execa('bash', ['scripts/setup-tests'], { cwd: REPO, reject: false });
    expect(setup.exitCode, setup.stderr).toBe(0);
    if (existsSync('/run/systemd/system')) {
      for (const service of TEST_SERVICES) {
        const state = execaSync('systemctl', ['is-enabled', `${service}.service`], { reject: false }).stdout.trim();
        expect(['masked', 'disabled', ''], service).toContain(state);
      }
    } else {
      // Without systemd: no start link for them in any runlevel.
      for (const level of ['2', '3', '4', '5'].filter((l) => existsSync(`/etc/rc${l}.d`)))
        for (const service of TEST_SERVICES)
          expect(
            readdirSync(`/etc/rc${level}.d`).filter((link) => new RegExp(`^S\\d\\d${service}$`).test(link)),
            `rc${level}.d`,
          ).toEqual([]);
    }
  }, 300_000);

  it('as an ordinary user, installs nothing and names the missing packages and the command', () => {
    const check = runAsUser(
      [
        'bash',
        '-c',
        '. scripts/debian-packages.sh && install_missing "pxe-hil setup" "bash scripts/setup" coreutils hil-no-such-package',
      ],
      REPO,
    );
    expect(check.exitCode).toBe(2);
    expect(check.stderr).toBe(
      'pxe-hil setup: missing Debian packages: hil-no-such-package; fix (as root): apt-get install --no-install-recommends hil-no-such-package (or: sudo bash scripts/setup)',
    );
    // And the whole set-up, as the user, on this host where everything a run needs is there: nothing to do.
    const setup = runAsUser(['bash', 'scripts/setup'], REPO);
    expect(setup.exitCode, setup.stderr).toBe(0);
    expect(setup.stderr).toBe('');
  });

  it('a run through npm (its set-up first) leaves no new daemon listening', async () => {
    const before = listeners();
    const run = await execa(
      'npm',
      ['run', '-s', 'hil', '--', '--target', 'qemu-x86', '--image', 'busybox', '--results', results],
      { cwd: REPO, reject: false, all: true },
    );
    expect(run.exitCode, String(run.all)).toBe(0);
    // The set-up had nothing to install or start.
    expect(String(run.stderr)).toBe('');
    const added = [...listeners()].filter((socket) => !before.has(socket));
    // The ports test peers listen on as services of a host: SNMP, ser2net's default, pdudaemon, TFTP, IPMI.
    expect(added.filter((socket) => /:(161|162|2000|16421|69|623)$/.test(socket))).toEqual([]);
    expect(residueOf(jobIdOf(resultsDirOf(String(run.stdout))))).toEqual(NO_RESIDUE);
  }, 300_000);
});
