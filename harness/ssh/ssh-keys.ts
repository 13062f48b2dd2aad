/**
 * The keys of the small image's SSH server: a host key made by dropbearkey
 * (run from the unpacked Debian package, with that package set's own loader
 * and libraries) and a client key pair for the harness, made with node's
 * crypto (ECDSA P-256, SEC1 PEM, which ssh2 loads). The client's public key
 * goes into the image's authorized_keys; the host key's public part is pinned
 * by the harness.
 *
 * Tested against: dropbear-bin 2022.83 (Debian 12), ssh2 1.17, Node 20.
 * Reference: dropbearkey(1); RFC 5656 (ECDSA keys in SSH), RFC 4253 section 6.6 (public key format);
 * OpenSSH's SHA256 fingerprint (base64 of the SHA-256 of the key blob, no padding).
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline } from '../core/deadline.js';
import { runBounded } from '../core/process.js';

export type HostKey = {
  /** dropbear's own key file format */ private: Buffer /** "ecdsa-sha2-nistp256 AAAA..." */;
  publicLine: string;
};
export type ClientKey = { privatePem: string; publicLine: string };

/** Runs dropbearkey from an unpacked package through the unpacked loader, so the host needs no dropbear libraries. */
export async function makeDropbearHostKey(
  loader: string,
  libraryDirs: readonly string[],
  dropbearkey: string,
): Promise<HostKey> {
  const dir = await mkdtemp(join(tmpdir(), 'hil-hostkey-'));
  try {
    const file = join(dir, 'host_key');
    const result = await runBounded(
      loader,
      ['--library-path', libraryDirs.join(':'), dropbearkey, '-t', 'ecdsa', '-s', '256', '-f', file],
      { deadline: Deadline.in(30_000, 'dropbearkey') },
    );
    const publicLine = /^(ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+)/m.exec(result.stdout)?.[1];
    if (result.exitCode !== 0 || !publicLine)
      throw new Error(`dropbearkey failed (exit ${result.exitCode}): ${result.stderr.trim().split('\n').pop() ?? ''}`);
    return { private: await readFile(file), publicLine };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function makeClientKey(comment = 'pxe-hil'): ClientKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const blob = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
    publicLine: `ecdsa-sha2-nistp256 ${blob.toString('base64')} ${comment}`,
  };
}

/** The key blob of an "type base64 [comment]" public key line. */
export function publicKeyBlob(publicLine: string): Buffer {
  const base64 = publicLine.trim().split(/\s+/)[1];
  if (!base64) throw new Error('not an SSH public key line');
  return Buffer.from(base64, 'base64');
}

/** OpenSSH's SHA256 fingerprint of a key blob: "SHA256:" and unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function sshString(value: string | Buffer): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}
