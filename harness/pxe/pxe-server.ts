/**
 * The job's ephemeral PXE server: its own network namespace, dnsmasq for DHCP,
 * and a file server process (TFTP + HTTP) inside that namespace, serving a
 * per-job file table with generated boot configs. A real board's job serves
 * from a macvlan on the lab interface instead (lab-network.ts), as the boot
 * network's DHCP server or as proxyDHCP. Everything it reports
 * becomes a step event; `stop` removes every process and the namespace.
 */
import { join } from 'node:path';
import { ownProgram } from '../core/build.js';
import { Deadline } from '../core/deadline.js';
import type { EventBus } from '../core/events.js';
import { LabFault } from '../core/errors.js';
import { startChild, type Child } from '../core/process.js';
import { cacheDir } from '../core/paths.js';
import { archBootFiles, type LoaderChoice } from './client-arch.js';
import {
  pxelinuxConfigName,
  renderGrubConfig,
  renderIpxeScript,
  renderPxelinuxConfig,
  type BootEntry,
} from './boot-config.js';
import { startDnsmasq, type Dnsmasq } from './dnsmasq.js';
import type { FileServerConfig, FileServerMessage } from './file-server-messages.js';
import type { FileTable, ServedFile } from './file-table.js';
import {
  createLabNetwork,
  isLabNetwork,
  planNetwork,
  subnetOf,
  type LabNetwork,
  type LabNetworkConfig,
} from './lab-network.js';
import { UBOOT_SCRIPT_NAME } from './uboot-commands.js';
import { createJobNetwork, removeJobNetwork, type JobNetwork } from './netns.js';
import { inUserNamespace } from '../core/user-namespace.js';
import { applyBoardFilter } from './board-filter.js';
import { BoardGate } from './board-gate.js';
import { busyPollBudgetUs } from './busy-poll.js';

export type BootLoaderChoice = LoaderChoice;

export type PxeServerOptions = {
  jobId: string;
  workDir: string;
  bus: EventBus;
  board: { mac: string; ip: string; hostname: string };
  boot: BootEntry;
  /** Kernel, initrd and PXE loader files (pxelinux.0, ldlinux.c32). */
  files: FileTable;
  loader: BootLoaderChoice;
  /** Where table files may live (after resolving symlinks); default: the image cache. */
  roots?: string[];
  onLogLine?: (source: 'dnsmasq' | 'file-server', line: string) => void;
  /** A real board's lab network (target.network of kind 'lab'); without it the job builds its bridge and tap. */
  lab?: LabNetworkConfig;
  /** TFTP's busy-polling budget in microseconds (busy-poll.ts); default: PXE_HIL_TFTP_BUSY_POLL_US or 100. */
  tftpBusyPollUs?: number;
};

/**
 * What the server needs before the boot plan is made: the job, its network,
 * the board (from the target file), where its files may live.
 */
export type PxeServerBase = Pick<
  PxeServerOptions,
  'jobId' | 'workDir' | 'bus' | 'board' | 'roots' | 'onLogLine' | 'lab' | 'tftpBusyPollUs'
>;

/** What it serves: the board's boot entry, the files and the loader. */
export type PxeServerPlan = Pick<PxeServerOptions, 'boot' | 'files' | 'loader'>;

export class PxeServer {
  private dnsmasq: Dnsmasq | undefined;
  private fileServer: Child | undefined;
  private fileServerReady: Promise<void> = Promise.resolve();
  private networkCreated = false;
  private served: FileTable = [];
  /** The network made and the file server process started (see begin). */
  private readonly begun: Promise<void>;
  /** Only the board's DHCP lines and file requests become events (on a lab network, requests from the board's address). */
  private readonly gate: BoardGate;
  readonly network: JobNetwork | LabNetwork;

  private constructor(private readonly options: PxeServerBase) {
    this.network = planNetwork(options.jobId, options.lab);
    this.gate = BoardGate.on(options.bus, {
      mac: options.board.mac,
      ip: isLabNetwork(this.network) ? options.board.ip : '',
    });
    this.begun = this.beginAll();
    // Awaited by serve and stop; a failure is theirs to report.
    this.begun.catch(() => {});
  }

  get baseUrl(): string {
    return `http://${this.network.serverIp}`;
  }

  get netns(): string {
    return this.network.netns;
  }

  /** The job's tap for a QEMU board; none on a lab network. */
  get tap(): string | undefined {
    return 'tap' in this.network ? this.network.tap : undefined;
  }

  /** Every file served, the generated boot configs included (once serving). */
  get files(): FileTable {
    return this.served;
  }

  /**
   * Starts what needs no boot plan, while the plan is made: the namespace (or
   * the lab interface's macvlan) and the file server process, which waits for
   * its table. `serve` finishes the start; `stop` undoes what was started.
   */
  static begin(options: PxeServerBase): PxeServer {
    return new PxeServer(options);
  }

  /** Starts the namespace, DHCP and file servers; on any failure removes what it started. */
  static async start(options: PxeServerOptions): Promise<PxeServer> {
    return PxeServer.begin(options).serve(options);
  }

  /** Serves `plan`: the file server gets its table and dnsmasq starts; on any failure everything started is removed. */
  async serve(plan: PxeServerPlan): Promise<this> {
    try {
      await this.begun;
      await this.serveAll(plan);
    } catch (error) {
      await this.stop();
      throw error instanceof LabFault
        ? error
        : new LabFault(`PXE server failed to start: ${(error as Error).message}`, { cause: error });
    }
    return this;
  }

  private async beginAll(): Promise<void> {
    const net = this.network;
    if (isLabNetwork(net)) await createLabNetwork(net);
    else await createJobNetwork(net);
    this.networkCreated = true;
    // On a lab network, before any server listens: nothing but the board's frames reaches them.
    if (isLabNetwork(net)) await applyBoardFilter(net.netns, this.options.board.mac, net.interface);
    this.startFileServer();
  }

  /** The boot configs the server generates for the plan: the iPXE script, the board's pxelinux config, GRUB's. */
  private generatedFiles(plan: PxeServerPlan): ServedFile[] {
    return [
      {
        name: 'boot.ipxe',
        role: 'boot-config',
        content: renderIpxeScript(
          plan.boot,
          this.baseUrl,
          plan.loader === 'chainload' ? { biosChain: `tftp://${this.network.serverIp}/undionly.kpxe` } : {},
        ),
      },
      {
        name: pxelinuxConfigName(this.options.board.mac),
        role: 'boot-config',
        content: renderPxelinuxConfig(plan.boot),
      },
      { name: 'grub/grub.cfg', role: 'boot-config', content: renderGrubConfig(plan.boot) },
    ];
  }

  private async serveAll(plan: PxeServerPlan): Promise<void> {
    const { board, workDir } = this.options;
    const net = this.network;
    this.served = [...plan.files, ...this.generatedFiles(plan)];
    const dnsmasq = startDnsmasq(
      net.netns,
      {
        interface: isLabNetwork(net) ? net.interface : net.bridge,
        serverIp: net.serverIp,
        ...(isLabNetwork(net)
          ? subnetOf(net)
          : { netmask: '255.255.255.0', subnet: net.serverIp.replace(/\.\d+$/, '.0') }),
        hosts: [board],
        pxeBootFile: 'pxelinux.0',
        ipxeScriptUrl: plan.loader !== 'pxelinux' ? `${this.baseUrl}/boot.ipxe` : undefined,
        // Per architecture (option 93), the loader files the table has: e.g. undionly.kpxe and ipxe.efi to chainload iPXE.
        archBoots: archBootFiles(
          plan.loader,
          this.served.map((f) => f.name),
          this.baseUrl,
        ),
        ubootScript: this.served.some((f) => f.name === UBOOT_SCRIPT_NAME) ? UBOOT_SCRIPT_NAME : undefined,
        // Router advertisements only on the job's own bridge, never on a lab network.
        ipv6RaPrefix: isLabNetwork(net) ? undefined : net.ipv6Prefix,
        mode: isLabNetwork(net) ? net.mode : 'dhcp',
        leaseFile: join(workDir, 'dnsmasq.leases'),
        pidFile: join(workDir, 'dnsmasq.pid'),
        runAs: inUserNamespace() ? 'root' : undefined,
      },
      (event) => this.gate.dhcp(event),
      (line) => this.options.onLogLine?.('dnsmasq', line),
    );
    // Both start at once; whichever started is kept so that stop() ends it if the other failed.
    const [dhcp, files] = await Promise.allSettled([dnsmasq, this.configureFileServer()]);
    if (dhcp.status === 'fulfilled') this.dnsmasq = dhcp.value;
    for (const started of [dhcp, files]) if (started.status === 'rejected') throw started.reason;
  }

  /** Starts the file server process in the namespace; it serves once it has its table (configureFileServer). */
  private startFileServer(): void {
    const { workDir } = this.options;
    const child = startChild(
      'file-server',
      process.execPath,
      [...ownProgram('pxe/file-server-process'), '--job', this.options.jobId],
      {
        netns: this.network.netns,
        cwd: workDir,
        ipc: true,
        onStderrLine: (line) => this.options.onLogLine?.('file-server', line),
      },
    );
    this.fileServer = child;
    this.fileServerReady = new Promise<void>((resolve, reject) => {
      child.subprocess.on('message', (raw) => {
        const message = raw as FileServerMessage;
        switch (message.type) {
          case 'ready':
            return resolve();
          case 'fatal':
            return reject(new Error(`file server: ${message.message}`));
          default:
            return void this.gate.file(message);
        }
      });
      void child.exited.then((exit) => reject(new Error(`file server exited (code ${exit.exitCode ?? exit.signal})`)));
    });
    this.fileServerReady.catch(() => {});
  }

  private async configureFileServer(): Promise<void> {
    const config: FileServerConfig = {
      address: this.network.serverIp,
      tftpPort: 69,
      httpPort: 80,
      files: this.served,
      roots: this.options.roots ?? [cacheDir()],
      tftpBusyPollUs: this.options.tftpBusyPollUs ?? busyPollBudgetUs(),
    };
    this.fileServer!.subprocess.send(config);
    await Deadline.in(10_000, 'the TFTP and HTTP servers to listen').race(this.fileServerReady);
  }

  /** Pid of the file server process (TFTP and HTTP), while it runs. */
  get fileServerPid(): number | undefined {
    return this.fileServer?.running ? this.fileServer.pid : undefined;
  }

  /** Pids of the server's processes, for checks that nothing is left behind. */
  pids(): number[] {
    return [this.dnsmasq?.child, this.fileServer].filter((c): c is Child => !!c?.running).map((c) => c.pid);
  }

  /** Stops every process and removes the namespace; also while `begin` is still under way, and again (a no-op). */
  async stop(): Promise<void> {
    await this.begun.catch(() => {});
    const children = [this.fileServer, this.dnsmasq?.child].filter((c): c is Child => c !== undefined);
    if (this.fileServer?.running) this.fileServer.subprocess.disconnect?.();
    await Promise.all(children.map((c) => c.stop(2000)));
    if (this.networkCreated) {
      await removeJobNetwork(this.network.netns);
      this.networkCreated = false;
    }
  }
}
