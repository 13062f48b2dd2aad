/**
 * Every job gives its board an SSH host key of its own: the cached small
 * image (shared by every job and board on the host) holds no host private
 * key; each job makes one, appends it to the initrd it serves and pins it.
 * Two jobs of one target log in with two different host keys; a
 * `--no-boot` run pins the key of the job that holds the board.
 */
import { readdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { liveJobs } from '../../harness/core/job-record.js';
import { runtimeRoot } from '../../harness/core/paths.js';
import { fingerprint, publicKeyBlob } from '../../harness/ssh/ssh-keys.js';
import { buildSmallImage } from '../../harness/images/busybox-initramfs.js';
import { events, hil, jobIdOf, NO_RESIDUE, residueOf, resultsDirOf, resultsRoot, startHil } from '../support/hil.js';
import { PREPARE_TIMEOUT, prepareImages } from '../support/runs.js';

let results: string;

beforeAll(async () => {
  results = resultsRoot();
  await prepareImages('busybox');
}, PREPARE_TIMEOUT);

afterAll(() => rmSync(results, { recursive: true, force: true }));

/** The host key fingerprint a run's SSH login pinned and was shown. */
function loginFingerprint(dir: string): string {
  const ssh = events(dir).filter((e) => e.type === 'ssh');
  expect(ssh.map((e) => e.state)).toEqual(['ready']);
  return String(ssh[0]!.fingerprint);
}

describe('SSH host keys', () => {
  it('the cached initrd and its directory hold no host key', async () => {
    const { initrd } = await buildSmallImage();
    const listing = execaSync('sh', ['-c', 'gzip -dc "$1" | cpio -t --quiet', 'sh', initrd]).stdout.split('\n');
    expect(listing).toContain('etc/dropbear');
    expect(listing).toContain('usr/sbin/dropbear');
    expect(listing.filter((path) => /host_key|dropbear_.*_key/.test(path))).toEqual([]);
    expect(readdirSync(dirname(initrd)).sort()).toEqual(['client_key', 'client_key.pub', 'initrd.cpio.gz']);
  }, 120_000);

  it("gives each job's board its own host key, and a --no-boot run pins the holding job's", async () => {
    const fingerprints: string[] = [];
    for (let i = 0; i < 2; i++) {
      const run = await hil(['--target', 'qemu-x86', '--image', 'busybox', '--suite', 'smoke', '--results', results]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const dir = resultsDirOf(run.stdout);
      fingerprints.push(loginFingerprint(dir));
      expect(residueOf(jobIdOf(dir))).toEqual(NO_RESIDUE);
    }
    expect(fingerprints[0]).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprints[1]).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprints[0]).not.toBe(fingerprints[1]);

    let held = false;
    const holder = startHil(['--target', 'qemu-x86', '--image', 'busybox', '--keep-up', '--results', results], {
      onLine: (line) => {
        if (/hold\s+target up for --no-boot suite runs/.test(line)) held = true;
      },
    });
    let again: Awaited<ReturnType<typeof hil>> | undefined;
    let recorded: string | undefined;
    try {
      await Deadline.in(240_000, 'the --keep-up job to hold its target up').poll(() => (held ? true : undefined), 200);
      // The key the holding job put on its board, as its record tells other runs.
      const [job] = liveJobs({ target: 'qemu-x86', root: runtimeRoot() });
      recorded = job?.record.sshHostKey;
      again = await hil(['--target', 'qemu-x86', '--suite', 'smoke', '--no-boot', '--results', results]);
    } finally {
      holder.kill('SIGINT');
    }
    const holding = await holder;
    expect(again!.exitCode, again!.stdout + again!.stderr).toBe(0);
    const holderDir = resultsDirOf(String(holding.stdout));
    // The holding job made a key of its own too, and the --no-boot run logged in with exactly it.
    expect(recorded).toMatch(/^ecdsa-sha2-nistp256 AAAA[A-Za-z0-9+/=]+$/);
    const noBoot = loginFingerprint(resultsDirOf(again!.stdout));
    expect(noBoot).toBe(fingerprint(publicKeyBlob(recorded!)));
    expect(fingerprints).not.toContain(noBoot);
    expect(residueOf(jobIdOf(holderDir))).toEqual(NO_RESIDUE);
  }, 900_000);
});
