import { execaSync } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { programsWithLibraries } from '../../harness/images/package-programs.js';
import { hostKeyAlgorithms } from '../../harness/ssh/ssh-login.js';
import { fingerprint, makeClientKey, makeHostKey, publicKeyBlob } from '../../harness/ssh/ssh-keys.js';

const { utils } = createRequire(import.meta.url)('ssh2') as {
  utils: { parseKey: (key: string) => { type: string; getPublicSSH: () => Buffer } | Error };
};

describe('client keys', () => {
  it('makes an ECDSA P-256 key that ssh2 loads, with the matching public line', () => {
    const key = makeClientKey('test');
    const parsed = utils.parseKey(key.privatePem);
    if (parsed instanceof Error) throw parsed;
    expect(parsed.type).toBe('ecdsa-sha2-nistp256');
    expect(parsed.getPublicSSH().equals(publicKeyBlob(key.publicLine))).toBe(true);
    expect(key.publicLine).toMatch(
      /^ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABB[A-Za-z0-9+/]+=* test$/,
    );
  });

  it('gives the fingerprint OpenSSH prints for the same key', () => {
    const key = makeClientKey();
    const dir = mkdtempSync(join(tmpdir(), 'hil-key-'));
    try {
      writeFileSync(join(dir, 'key.pub'), `${key.publicLine}\n`);
      const printed = execaSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'key.pub')]).stdout.split(' ')[1];
      expect(fingerprint(publicKeyBlob(key.publicLine))).toBe(printed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('host keys', () => {
  it("are in dropbear's key file format: dropbearkey reads each and derives the same public key", async () => {
    // dropbearkey from Debian's package, run through its own loader and libraries (as the image carries it).
    const programs = await programsWithLibraries([{ pkg: 'dropbear-bin', path: 'usr/bin/dropbearkey' }]);
    const dropbearkey = join(programs.packages.find((p) => p.name === 'dropbear-bin')!.root, 'usr/bin/dropbearkey');
    const dir = mkdtempSync(join(tmpdir(), 'hil-hostkey-'));
    try {
      const keys = Array.from({ length: 8 }, () => makeHostKey());
      for (const [i, key] of keys.entries()) {
        writeFileSync(join(dir, `key${i}`), key.private, { mode: 0o600 });
        const shown = execaSync(programs.interpreter, [
          '--library-path',
          programs.libraryDirs.join(':'),
          dropbearkey,
          '-y',
          '-f',
          join(dir, `key${i}`),
        ]).stdout;
        expect(/^(ecdsa-sha2-nistp256 \S+)/m.exec(shown)?.[1]).toBe(key.publicLine);
      }
      // Every key its own.
      expect(new Set(keys.map((k) => k.publicLine)).size).toBe(keys.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the host key algorithms offered', () => {
  it("are the pinned key's own, with SHA-2 signatures for an RSA key", () => {
    expect(hostKeyAlgorithms('ecdsa-sha2-nistp256 AAAAE2VjZHNh root@vm')).toEqual(['ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms('ssh-ed25519 AAAAC3Nz')).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithms('ssh-rsa AAAAB3Nz')).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});
