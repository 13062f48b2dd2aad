/**
 * Logging in to a booted target over SSH (node-ssh on ssh2), through the
 * job's forwarder socket. The host key is checked against the one pinned for
 * the image; a different key is never accepted and ends the wait at once.
 * Only the pinned key's algorithm is offered for the server's host key, so a
 * server holding keys of several types (dropbear's ECDSA, Ed25519 and RSA
 * keys) shows the pinned one, as OpenSSH does with a known_hosts line.
 * The client key is read from its file (mode 0600) and never logged.
 *
 * Tested against: node-ssh 13.2, ssh2 1.17, dropbear 2022.83 (Debian 12).
 * Reference: RFC 4253 (server host key), RFC 8332 (rsa-sha2-256/512 for ssh-rsa keys), ssh2's
 * Client.connect options (sock, hostVerifier, algorithms.serverHostKey).
 */
import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import type { NodeSSH } from 'node-ssh';
import { type Deadline, sleep } from '../core/deadline.js';
import { TargetFailure } from '../core/errors.js';
import { fingerprint, publicKeyBlob } from './ssh-keys.js';

export type SshLogin = {
  /** Unix socket that leads to the board's SSH port. */
  socketPath: string;
  user: string;
  /** The pinned host key, "type base64". */
  hostKey: string;
  clientKeyPath: string;
};

export class HostKeyMismatch extends TargetFailure {}

/** One login attempt; rejects with HostKeyMismatch when the server shows another key. */
export async function loginOnce(login: SshLogin, timeoutMs = 10_000): Promise<NodeSSH> {
  const pinned = publicKeyBlob(login.hostKey);
  let offered: Buffer | undefined;
  // node-ssh (ssh2) loads with the first login, not with every run.
  const ssh = new (await import('node-ssh')).NodeSSH();
  try {
    await ssh.connect({
      sock: netConnect(login.socketPath),
      username: login.user,
      privateKey: await readFile(login.clientKeyPath, 'utf8'),
      readyTimeout: timeoutMs,
      algorithms: { serverHostKey: hostKeyAlgorithms(login.hostKey) },
      hostVerifier: (key: Buffer) => {
        offered = key;
        return key.equals(pinned);
      },
    });
  } catch (error) {
    ssh.dispose();
    if (offered && !offered.equals(pinned)) {
      throw new HostKeyMismatch(
        `SSH host key mismatch: the target offered ${fingerprint(offered)}, the image's pinned key is ${fingerprint(pinned)}. Fix: boot the image whose keys are in the cache, or rebuild it (npm run hil -- images).`,
      );
    }
    throw error;
  }
  return ssh;
}

/** The host key algorithms that show a key of the pinned key's type: its own name; for an RSA key, its SHA-2 signatures too. */
export function hostKeyAlgorithms(hostKey: string): string[] {
  const type = hostKey.trim().split(/\s+/)[0] ?? '';
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

/** Logs in, retrying while the SSH server is not up yet, until `deadline`. */
export async function waitForSsh(login: SshLogin, deadline: Deadline, signal?: AbortSignal): Promise<NodeSSH> {
  let lastError: unknown;
  while (!deadline.expired()) {
    signal?.throwIfAborted();
    try {
      return await loginOnce(login, Math.max(1000, Math.min(10_000, deadline.remainingMs())));
    } catch (error) {
      if (error instanceof HostKeyMismatch) throw error;
      lastError = error;
    }
    await sleep(Math.min(500, deadline.remainingMs()), signal);
  }
  throw new TargetFailure(
    `${deadline.error().message} (last attempt: ${lastError instanceof Error ? lastError.message : String(lastError)})`,
  );
}
