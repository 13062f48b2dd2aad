import { execaSync } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { hostKeyAlgorithms } from '../../harness/ssh/ssh-login.js';
import { fingerprint, makeClientKey, publicKeyBlob } from '../../harness/ssh/ssh-keys.js';

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

describe('the host key algorithms offered', () => {
  it("are the pinned key's own, with SHA-2 signatures for an RSA key", () => {
    expect(hostKeyAlgorithms('ecdsa-sha2-nistp256 AAAAE2VjZHNh root@vm')).toEqual(['ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms('ssh-ed25519 AAAAC3Nz')).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithms('ssh-rsa AAAAB3Nz')).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});
