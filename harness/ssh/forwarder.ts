/**
 * Reaching the board's SSH port from the harness: the board lives in the
 * job's network namespace, the harness in the host's. socat, started inside
 * the namespace as a child of the harness, listens on a unix socket in the
 * job's work directory and pipes each connection to the board's port 22.
 * The socket is mode 0600: only root (the harness) may connect.
 *
 * Tested against: socat 1.7.4.4 (Debian 12).
 * Reference: socat(1) (UNIX-LISTEN with fork, unlink-early, mode; TCP with connect-timeout).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Deadline } from '../core/deadline.js';
import { LabFault } from '../core/errors.js';
import { startChild, type Child } from '../core/process.js';

export type SshForwarder = { socketPath: string; child: Child; stop: () => Promise<void> };

export async function startSshForwarder(options: {
  netns: string;
  socketPath: string;
  host: string;
  port: number;
  onLogLine?: (line: string) => void;
}): Promise<SshForwarder> {
  const { socketPath } = options;
  const child = startChild(
    'ssh forwarder',
    'socat',
    [`UNIX-LISTEN:${socketPath},fork,unlink-early,mode=600`, `TCP:${options.host}:${options.port},connect-timeout=5`],
    { netns: options.netns, onStderrLine: options.onLogLine },
  );
  const stop = async () => {
    await child.stop(2000);
    await rm(socketPath, { force: true });
  };
  try {
    await Deadline.in(5000, `socat to listen on ${socketPath}`).poll(() => {
      if (!child.running) throw new Error(`socat exited (code ${child.exit?.exitCode ?? child.exit?.signal})`);
      return existsSync(socketPath) ? true : undefined;
    });
  } catch (error) {
    await stop();
    throw new LabFault(
      `could not start the SSH forwarder into namespace ${options.netns}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { socketPath, child, stop };
}
