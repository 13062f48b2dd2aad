/**
 * Entry point of the job's file server process (TFTP and HTTP), started by the
 * harness inside the job's network namespace. It receives its file table over
 * the IPC channel, opens every file once (refusing paths that resolve outside
 * the allowed roots), reports every request back, and exits when the harness
 * goes away. Its arguments (--job <id>) only name the job, for `ps`.
 */
import { startHttp } from './http-server.js';
import { openTable } from './file-table.js';
import { startTftp } from './tftp-server.js';
import type { FileServerConfig, FileServerMessage } from './file-server-messages.js';

const send = (message: FileServerMessage) => process.send?.(message);

process.once('message', (config: FileServerConfig) => {
  void (async () => {
    try {
      const table = await openTable(config.files, config.roots);
      const [tftp, http] = await Promise.all([
        startTftp(config.address, config.tftpPort, table, send, { busyPollUs: config.tftpBusyPollUs }),
        startHttp(config.address, config.httpPort, table, send),
      ]);
      const address = http.address();
      const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
      send({ type: 'ready', tftpPort: tftp.port, httpPort });
    } catch (error) {
      send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
      process.exit(1);
    }
  })();
});

// The harness owns this process: when its IPC channel closes, the job is over.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
