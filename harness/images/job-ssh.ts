/**
 * A job's own SSH host key for an image that runs an SSH server: made at the
 * job's start, pinned for that job's logins, and put into the board's
 * initramfs as a second cpio archive served after the cached initrd (the
 * kernel unpacks concatenated archives in order), so the cached image stays
 * shared and holds no host private key.
 *
 * Reference: Linux Documentation/driver-api/early-userspace/buffer-format.rst (concatenated archives),
 * init/initramfs.c (unpack_to_rootfs: an archive starts at a 4-byte aligned offset, zeros between are skipped).
 */
import { fingerprint, makeHostKey, publicKeyBlob } from '../ssh/ssh-keys.js';
import { cpioArchive } from './cpio.js';
import type { ImageSsh, JobSsh } from './image.js';

/**
 * The job's login, and what to append to an initrd of `initrdBytes` bytes: zero
 * bytes up to a multiple of 4 (the kernel takes an uncompressed archive only
 * at such an offset, and skips zeros between archives), then a cpio archive
 * of the host key at `ssh.hostKeyFile` (mode 0600; the image has its directory).
 */
export function jobSsh(
  ssh: Extract<ImageSsh, { hostKeyFile: string }>,
  initrdBytes: number,
): { ssh: JobSsh; append: Buffer } {
  const key = makeHostKey();
  const archive = cpioArchive([{ path: ssh.hostKeyFile, type: 'file', data: key.private, mode: 0o600 }]);
  return {
    ssh: withHostKey(ssh, key.publicLine),
    append: Buffer.concat([Buffer.alloc((4 - (initrdBytes % 4)) % 4), archive]),
  };
}

/** The image's login with a host key ("type base64") pinned: the job's own, or the image's fixed one. */
export function withHostKey(ssh: ImageSsh, hostKey: string): JobSsh {
  const { user, port, clientKeyPath } = ssh;
  return { user, port, clientKeyPath, hostKey, hostKeyFingerprint: fingerprint(publicKeyBlob(hostKey)) };
}

/** The login of an image whose host key is its own (not made per job); undefined for one that takes the job's. */
export function fixedLogin(ssh: ImageSsh | undefined): JobSsh | undefined {
  return ssh && 'hostKey' in ssh ? withHostKey(ssh, ssh.hostKey) : undefined;
}
