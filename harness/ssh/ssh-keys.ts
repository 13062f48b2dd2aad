/**
 * The keys of the small image's SSH server, made with node's crypto: a host
 * key in dropbear's key file format, one per job (its public part pinned for
 * that job's logins), and a client key pair for the harness (ECDSA P-256,
 * SEC1 PEM, which ssh2 loads), whose public key goes into the image's
 * authorized_keys.
 *
 * Tested against: dropbear-bin 2022.83 (Debian 12), ssh2 1.17, Node 20.
 * Reference: dropbearkey(1), dropbear's signkey.c and ecdsa.c (key file layout); RFC 4251 (string, mpint); RFC 5656 (ECDSA keys in SSH), RFC 4253 section 6.6 (public key format);
 * OpenSSH's SHA256 fingerprint (base64 of the SHA-256 of the key blob, no padding).
 */
import { createHash, generateKeyPairSync, type webcrypto } from 'node:crypto';

export type HostKey = {
  /** dropbear's own key file format */
  private: Buffer;
  /** "ecdsa-sha2-nistp256 AAAA..." */
  publicLine: string;
};
export type ClientKey = { privatePem: string; publicLine: string };

/**
 * A fresh ECDSA P-256 host key in dropbear's own key file format (what
 * dropbearkey writes and dropbear -r reads): the SSH strings
 * "ecdsa-sha2-nistp256", "nistp256" and the public point, then the private
 * scalar as an SSH mpint. Made with node's crypto, in memory, for one job.
 */
export function makeHostKey(): HostKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = privateKey.export({ format: 'jwk' });
  const blob = ecdsaPublicBlob(jwk);
  return {
    private: Buffer.concat([blob, sshMpint(Buffer.from(jwk.d!, 'base64url'))]),
    publicLine: `ecdsa-sha2-nistp256 ${blob.toString('base64')}`,
  };
}

export function makeClientKey(comment = 'pxe-hil'): ClientKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const blob = ecdsaPublicBlob(publicKey.export({ format: 'jwk' }));
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

/** RFC 5656 section 3.1: the key type, the curve and the uncompressed point. */
function ecdsaPublicBlob(jwk: webcrypto.JsonWebKey): Buffer {
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
}

/** RFC 4251 section 5: a non-negative integer, big-endian, no leading zeros but one when the top bit is set. */
function sshMpint(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const digits = magnitude.subarray(start);
  return sshString(digits.length > 0 && digits[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), digits]) : digits);
}

function sshString(value: string | Buffer): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}
