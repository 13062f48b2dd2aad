/**
 * TFTP throughput: the harness's TFTP server (the job's file server process,
 * started through PxeServer in its own namespace) against dnsmasq's TFTP
 * server serving the same file from the same namespace and bridge (a second
 * address), to the same clients in a client namespace joined to the bridge by
 * a veth pair: curl with 512- and 1468-byte blocks, the tftp-hpa client
 * (plain RFC 1350, 512-byte blocks), and the npm `tftp` package's client with
 * windowsize 1 and 8 against the harness's server. Each server's CPU time
 * (user + system, from /proc) is taken around every download, so the price of
 * the harness's busy polling (harness/pxe/busy-poll.ts) is shown beside its
 * gain; a second pass with busy polling off isolates what it is worth.
 *
 * Tested against: dnsmasq 2.90, curl 7.88, tftp-hpa 5.2, npm tftp 0.1.2 (Debian 12).
 * Reference: RFC 1350, RFC 2348 (blksize), RFC 2349 (tsize), RFC 7440 (windowsize);
 * dnsmasq(8) (--enable-tftp, --tftp-root, --listen-address); curl(1) (--tftp-blksize); tftp(1).
 */
import { readFile, stat, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { execa } from 'execa';
import { Deadline } from '../harness/core/deadline.js';
import { EventBus } from '../harness/core/events.js';
import { run, startChild, type Child } from '../harness/core/process.js';
import type { JobNetwork } from '../harness/pxe/netns.js';
import { PxeServer } from '../harness/pxe/pxe-server.js';
import { busyPollBudgetUs } from '../harness/pxe/busy-poll.js';
import { figure, type Figure } from './figures.js';
import { BENCH_ID, interrupted } from './support.js';

export type TftpClientName = 'curl-512' | 'curl-1468' | 'tftp-hpa';
export const TFTP_CLIENTS: readonly TftpClientName[] = ['curl-512', 'curl-1468', 'tftp-hpa'];

export type TftpResults = {
  file: string;
  bytes: number;
  /** Seconds per download, per client, against the harness's server and against dnsmasq. */
  clients: Record<TftpClientName, { harness: number[]; dnsmasq: number[] }>;
  /** CPU seconds (user + system) of each server process per download, as `clients`. */
  cpu: Record<TftpClientName, { harness: number[]; dnsmasq: number[] }>;
  /** The harness's busy-polling budget in this measurement (microseconds; 0: off). */
  busyPollUs: number;
  /** Seconds per download with the npm client, by the windowsize it asked for, and the windowsize agreed. */
  window: Record<'1' | '8', { seconds: number[]; agreed: number }>;
};

const HARNESS_IP = '10.42.0.1';
const DNSMASQ_IP = '10.42.0.2';
const CLIENT_IP = '10.42.0.50';
const WINDOW_CLIENT = fileURLToPath(new URL('./tftp-window-client.ts', import.meta.url));
const TSX_LOADER = createRequire(import.meta.url).resolve('tsx');

export type TftpMeasureOptions = {
  /** The lock-step clients to run (default: all). */
  clients?: readonly TftpClientName[];
  /** Whether to run the npm client's windowsize 1 and 8 downloads (default: yes). */
  window?: boolean;
  /** The harness's busy-polling budget (default: its own default). */
  busyPollUs?: number;
};

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) throw new Error('the server process is not running');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command's closing parenthesis: state is field 3, utime 14 and stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
/** Linux's USER_HZ, what /proc counts CPU time in. */
const CLOCK_TICKS = 100;

/** Downloads `path`, served under `name`, `runs` times with every client from each server. */
export async function measureTftp(
  path: string,
  name: string,
  runs: number,
  options: TftpMeasureOptions = {},
): Promise<TftpResults> {
  const lockStepClients = options.clients ?? TFTP_CLIENTS;
  const bytes = (await stat(path)).size;
  const jobId = `${BENCH_ID}-tftp`;
  const clientNs = `hil-${jobId}-client`;
  const workDir = await mkdtemp(join(tmpdir(), `hil-bench-${BENCH_ID}-tftp-`));
  let server: PxeServer | undefined;
  let dnsmasq: Child | undefined;
  let clientNsMade = false;
  try {
    server = await PxeServer.start({
      jobId,
      workDir,
      bus: new EventBus(),
      board: { mac: '52:54:00:b0:00:70', ip: '10.42.0.10', hostname: 'bench' },
      boot: { label: 'bench', kernel: name, cmdline: '' },
      files: [{ name, role: 'initrd', path }],
      loader: 'auto',
      tftpBusyPollUs: options.busyPollUs,
    });
    const netns = server.netns;
    await run('ip', ['-n', netns, 'addr', 'add', `${DNSMASQ_IP}/24`, 'dev', (server.network as JobNetwork).bridge]);

    // dnsmasq as a TFTP server only, on the second address, serving the same file from its TFTP root.
    const root = join(workDir, 'tftp-root');
    await run('mkdir', [root]);
    await symlink(path, join(root, name));
    const log: string[] = [];
    let up: () => void = () => {};
    const ready = new Promise<void>((resolve) => (up = resolve));
    dnsmasq = startChild(
      'dnsmasq-tftp',
      'dnsmasq',
      [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--port=0',
        '--log-facility=-',
        `--listen-address=${DNSMASQ_IP}`,
        '--bind-interfaces',
        '--user=root',
        `--pid-file=${join(workDir, 'dnsmasq-tftp.pid')}`,
        '--enable-tftp',
        `--tftp-root=${root}`,
      ],
      {
        netns,
        onStderrLine: (line) => {
          log.push(line);
          if (/TFTP root is/.test(line)) up();
        },
      },
    );
    const exited = dnsmasq.exited.then(() => {
      throw new Error(`dnsmasq (TFTP) exited: ${log.slice(-3).join(' | ')}`);
    });
    await Deadline.in(5000, 'dnsmasq to start its TFTP server').race(Promise.race([ready, exited]));
    exited.catch(() => {});

    // The client host: its own namespace, a veth into the server's bridge.
    await run('ip', ['netns', 'add', clientNs]);
    clientNsMade = true;
    await run('ip', ['-n', netns, 'link', 'add', 'vb0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', clientNs]);
    await run('ip', ['-n', netns, 'link', 'set', 'vb0', 'master', (server.network as JobNetwork).bridge, 'up']);
    await run('ip', ['-n', clientNs, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', clientNs, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', clientNs, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', 'eth0']);

    const download = async (client: TftpClientName, host: string): Promise<number> => {
      const out = join(workDir, `download-${client}`);
      const argv =
        client === 'tftp-hpa'
          ? ['tftp', '-m', 'binary', host, '-c', 'get', name, out]
          : [
              'curl',
              '-sS',
              '--tftp-blksize',
              client === 'curl-512' ? '512' : '1468',
              '-o',
              out,
              `tftp://${host}/${name}`,
            ];
      const started = performance.now();
      const result = await execa('ip', ['netns', 'exec', clientNs, ...argv], { reject: false, timeout: 600_000 });
      const seconds = (performance.now() - started) / 1000;
      const got = await stat(out).then(
        (s) => s.size,
        () => -1,
      );
      await rm(out, { force: true });
      if (result.exitCode !== 0 || got !== bytes) {
        throw new Error(
          `${client} from ${host}: got ${got} of ${bytes} bytes (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(-300)}`,
        );
      }
      return seconds;
    };

    const perClient = () =>
      Object.fromEntries(
        TFTP_CLIENTS.map((c) => [c, { harness: [] as number[], dnsmasq: [] as number[] }]),
      ) as TftpResults['clients'];
    const clients = perClient();
    const cpu = perClient();
    const serverPid = (which: 'harness' | 'dnsmasq') => (which === 'harness' ? server!.fileServerPid : dnsmasq!.pid);
    const window: TftpResults['window'] = { '1': { seconds: [], agreed: 0 }, '8': { seconds: [], agreed: 0 } };
    for (let i = 0; i < runs; i++) {
      interrupted.signal.throwIfAborted();
      for (const client of lockStepClients) {
        // Alternate which server goes first, so neither always gets the warmer cache.
        const order = i % 2 === 0 ? (['harness', 'dnsmasq'] as const) : (['dnsmasq', 'harness'] as const);
        for (const which of order) {
          const cpuBefore = await cpuSeconds(serverPid(which));
          clients[client][which].push(await download(client, which === 'harness' ? HARNESS_IP : DNSMASQ_IP));
          cpu[client][which].push((await cpuSeconds(serverPid(which))) - cpuBefore);
        }
      }
      for (const size of options.window === false ? [] : (['1', '8'] as const)) {
        const result = await execa(
          'ip',
          [
            'netns',
            'exec',
            clientNs,
            process.execPath,
            '--import',
            TSX_LOADER,
            WINDOW_CLIENT,
            HARNESS_IP,
            name,
            size,
            '1468',
          ],
          {
            reject: false,
            timeout: 600_000,
          },
        );
        const report =
          result.exitCode === 0
            ? (JSON.parse(result.stdout.trim()) as { bytes: number; ms: number; windowSize: number })
            : undefined;
        if (!report || report.bytes !== bytes)
          throw new Error(
            `npm tftp client, windowsize ${size}: ${result.stderr.trim() || `got ${report?.bytes} of ${bytes} bytes`}`,
          );
        window[size].seconds.push(report.ms / 1000);
        window[size].agreed = report.windowSize;
      }
    }
    return { file: name, bytes, clients, cpu, window, busyPollUs: options.busyPollUs ?? busyPollBudgetUs() };
  } finally {
    if (clientNsMade) await execa('ip', ['netns', 'del', clientNs], { reject: false });
    await dnsmasq?.stop(2000);
    await server?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The TFTP rows: every client with the harness's busy polling as configured,
 * then curl's 512-byte blocks again with busy polling off (a server of its
 * own, dnsmasq measured again beside it), so the table shows what the polling
 * is worth and what it costs.
 */
export async function measureTftpFigures(path: string, name: string, runs: number): Promise<Figure[]> {
  const polled = await measureTftp(path, name, runs);
  const unpolled = await measureTftp(path, name, runs, { clients: ['curl-512'], window: false, busyPollUs: 0 });
  return tftpFigures(polled, unpolled);
}

const clientText = (client: TftpClientName) =>
  client === 'tftp-hpa' ? 'tftp-hpa client (512-byte blocks)' : `curl, ${client.slice(5)}-byte blocks`;

/** The TFTP rows of the benchmark's table: each lock-step client against dnsmasq, and windowsize 8 against 1. */
export function tftpFigures(tftp: TftpResults, unpolled?: TftpResults): Figure[] {
  const mb = (tftp.bytes / 1e6).toFixed(tftp.bytes >= 10e6 ? 0 : 1);
  const clients = TFTP_CLIENTS.map((client) =>
    figure({
      id: `tftp.${client}`,
      figure: `TFTP ${mb} MB ${tftp.file}, ${clientText(client)}`,
      unit: 's',
      values: tftp.clients[client].harness,
      reference: { name: 'dnsmasq TFTP', values: tftp.clients[client].dnsmasq },
      goal: { kind: 'ratio-at-most', limit: 1, text: 'at least as fast as dnsmasq' },
    }),
  );
  const polling = [
    figure({
      id: 'tftp.curl-512.cpu',
      figure: `TFTP server CPU time per download above (curl, 512-byte blocks; busy polling ${tftp.busyPollUs} µs)`,
      unit: 's',
      values: tftp.cpu['curl-512'].harness,
      reference: { name: 'dnsmasq', values: tftp.cpu['curl-512'].dnsmasq },
    }),
  ];
  if (unpolled)
    polling.push(
      figure({
        id: 'tftp.curl-512.unpolled',
        figure: `TFTP ${mb} MB ${tftp.file}, ${clientText('curl-512')}, busy polling off`,
        unit: 's',
        values: unpolled.clients['curl-512'].harness,
        reference: { name: 'dnsmasq TFTP', values: unpolled.clients['curl-512'].dnsmasq },
      }),
      figure({
        id: 'tftp.curl-512.unpolled-cpu',
        figure: 'TFTP server CPU time per download above (busy polling off)',
        unit: 's',
        values: unpolled.cpu['curl-512'].harness,
        reference: { name: 'dnsmasq', values: unpolled.cpu['curl-512'].dnsmasq },
      }),
    );
  return [
    ...clients,
    ...polling,
    figure({
      id: 'tftp.window',
      figure: `TFTP ${mb} MB, npm tftp client, windowsize 8 asked (${tftp.window['8'].agreed} agreed), 1468-byte blocks`,
      unit: 's',
      values: tftp.window['8'].seconds,
      reference: { name: 'windowsize 1', values: tftp.window['1'].seconds },
      goal: { kind: 'ratio-at-most', limit: 1, text: 'faster than windowsize 1' },
    }),
    figure({
      id: 'tftp.window-agreed',
      figure: 'TFTP windowsize agreed by pxe-hil when 8 is asked',
      unit: '',
      values: [tftp.window['8'].agreed],
      reference: { name: 'asked', values: [8] },
      goal: { kind: 'ratio-at-least', limit: 1, text: 'the 8 asked' },
    }),
  ];
}
