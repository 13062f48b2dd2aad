/**
 * A target: one board (or virtual board) the harness can power, netboot and
 * watch. Target files live in targets/<name>.ts and export
 * `defineTarget({...})`; they are validated when loaded.
 */
import { z } from 'zod';
import { isPc, qemuArch } from './qemu-arch.js';

const mac = z
  .string()
  .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i, 'expected a MAC address such as 52:54:00:12:34:56')
  .transform((value) => value.toLowerCase());

/** A Linux interface name (at most 15 characters), such as enp3s0 or the VLAN interface enp3s0.42. */
const interfaceName = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,15}$/, 'expected an interface name such as enp3s0 or enp3s0.42 (at most 15 characters)');
const netnsName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected the name of a network namespace (ip netns list)');

const qemuPower = z
  .object({
    driver: z.literal('qemu'),
    memoryMiB: z.number().int().min(128).max(65536).default(1024),
    cpus: z.number().int().min(1).max(64).default(1),
    nic: z.enum(['virtio-net-pci', 'e1000']).default('virtio-net-pci'),
    accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
    /**
     * The board's architecture, as QEMU names it: the program is qemu-system-<arch>. Unset or 'x86_64': a PC
     * (SeaBIOS, iPXE ROM). 'aarch64', 'arm', 'riscv64': the 'virt' machine, started in `bios` (such as U-Boot).
     * A foreign architecture runs under TCG. See harness/power/qemu-arch.ts for the known ones.
     */
    arch: z
      .string()
      .regex(/^[a-z0-9_]+$/, "expected QEMU's name of an architecture, such as x86_64, aarch64, arm, riscv64")
      .optional(),
    /** The machine (-machine); default by arch: 'pc' for x86, 'virt' for Arm and RISC-V. */
    machine: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'expected a QEMU machine type such as virt')
      .optional(),
    /** CPU model; QEMU's default when unset (the 'virt' machine needs one, such as cortex-a57). */
    cpu: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.,=_-]*$/i, 'expected a QEMU CPU model such as cortex-a57')
      .optional(),
    /** Firmware image the board starts in (-bios), such as /usr/lib/u-boot/qemu_arm64/u-boot.bin. */
    bios: z.string().regex(/^\//, 'expected an absolute path such as /usr/lib/u-boot/qemu_arm64/u-boot.bin').optional(),
    /**
     * 'bios': SeaBIOS and the NIC's iPXE ROM. 'uefi': OVMF (Debian package ovmf) with its own PXE client,
     * architecture 7 (x86-64 UEFI); OVMF has a driver for virtio-net-pci only.
     */
    firmware: z.enum(['bios', 'uefi']).default('bios'),
    extraArgs: z.array(z.string()).default([]),
    /** An existing tap device for the NIC instead of the job's own: a QEMU board wired to a lab network (`network.kind: 'lab'`). */
    tap: z.object({ name: interfaceName, netns: netnsName.optional() }).strict().optional(),
  })
  .strict();

/** Names an environment variable that holds a secret; the secret itself never goes into a target file. */
const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the name of an environment variable, such as BOARD1_BMC_PASSWORD');
const host = z.string().regex(/^[A-Za-z0-9.:-]+$/, 'expected a host name or IP address');

/** The IPMI cipher suites tried, in order, when a target names none. */
export const IPMI_CIPHER_SUITES = [17, 3] as const;

const ipmiPower = z
  .object({
    driver: z.literal('ipmi'),
    host,
    port: z.number().int().min(1).max(65535).default(623),
    username: z.string().min(1),
    /** Name of the environment variable that holds the BMC password. */
    passwordEnv: envName,
    /** RMCP+ cipher suites to try, in order; the first one the BMC accepts is kept. */
    cipherSuites: z
      .array(z.number().int().min(0).max(17))
      .min(1)
      .default([...IPMI_CIPHER_SUITES]),
    /** `chassis bootdev pxe` options before a netboot: for every boot (persistent), and an EFI boot (efiboot). */
    bootdev: z
      .object({ persistent: z.boolean().default(false), efi: z.boolean().default(false) })
      .strict()
      .default({ persistent: false, efi: false }),
    /** ipmitool -N: seconds to wait for each IPMI request. */
    requestTimeoutS: z.number().int().min(1).max(30).default(2),
    /** ipmitool -R: retries of each IPMI request inside one ipmitool call (at least 1: ipmitool reads 0 as 4). */
    requestRetries: z.number().int().min(1).max(10).default(2),
    /** ipmitool calls for one command when the BMC does not answer. */
    attempts: z.number().int().min(1).max(10).default(3),
    /** Wait before the second attempt; doubled for each further attempt. */
    retryBackoffMs: z.number().int().min(0).max(60_000).default(1000),
    /** How long the BMC has to report the state asked for. */
    confirmTimeoutS: z.number().positive().max(600).default(20),
    /** How long the board stays off in a cycle. */
    offTimeS: z.number().min(0).max(600).default(5),
  })
  .strict();

/** The lab's own shell command lines, each run with /bin/sh -c (harness/power/command.ts). */
const commandPower = z
  .object({
    driver: z.literal('command'),
    on: z.string().min(1),
    off: z.string().min(1),
    /** A command that cycles by itself; without it a cycle is off, `offTimeS`, on. */
    cycle: z.string().min(1).optional(),
    /** A command that prints `on` or `off` (its last line); without it the power cannot be read back. */
    status: z.string().min(1).optional(),
    /** The environment variables the commands read secrets from: their values are masked in every log and report. */
    secretEnv: z.array(envName).default([]),
    /** Time-out of each command. */
    timeoutS: z.number().positive().max(600).default(30),
    /** How long the board stays off in a cycle made of off and on. */
    offTimeS: z.number().min(0).max(600).default(5),
  })
  .strict();

const pdudaemonPower = z
  .object({
    driver: z.literal('pdudaemon'),
    /** pdudaemon's HTTP listener, such as http://pdu-server:16421. */
    url: z
      .string()
      .regex(/^http:\/\/[^/\s]+(:\d+)?\/?$/, "expected pdudaemon's listener such as http://pdu-server:16421"),
    /** The PDU's name in pdudaemon's configuration (its "hostname"). */
    pdu: z.string().min(1),
    outlet: z.number().int().min(1).max(512),
    /** In a cycle, how long the outlet stays off (pdudaemon's reboot delay). */
    offTimeS: z.number().min(0).max(600).default(5),
    /** How long pdudaemon has to accept a request. */
    requestTimeoutS: z.number().positive().max(60).default(10),
  })
  .strict();

const snmpPduPower = z
  .object({
    driver: z.literal('snmp-pdu'),
    host,
    port: z.number().int().min(1).max(65535).default(161),
    /** The PDU family, whose object identifiers the driver knows (pduProfiles in harness/power/snmp-pdu.ts). */
    profile: z.enum(['apc-rpdu', 'apc-spdu']),
    outlet: z.number().int().min(1).max(256),
    /** v2c: the community; v3: the user and keys. Secrets come from the environment variables named here. */
    auth: z.discriminatedUnion('version', [
      z.object({ version: z.literal('2c'), communityEnv: envName }).strict(),
      z
        .object({
          version: z.literal('3'),
          user: z.string().min(1),
          authProtocol: z.enum(['md5', 'sha', 'sha256', 'sha512']).default('sha'),
          authKeyEnv: envName,
          privProtocol: z.enum(['none', 'des', 'aes']).default('aes'),
          privKeyEnv: envName.optional(),
        })
        .strict(),
    ]),
    /** Seconds net-snmp waits for each request. */
    requestTimeoutS: z.number().int().min(1).max(30).default(2),
    /** net-snmp's retries of each request. */
    retries: z.number().int().min(0).max(10).default(2),
    /** How long the outlet has to read back the state asked for. */
    confirmTimeoutS: z.number().positive().max(600).default(10),
    /** How long the outlet stays off in a cycle. */
    offTimeS: z.number().min(0).max(600).default(5),
  })
  .strict();

const qemuSocketConsole = z
  .object({
    kind: z.literal('qemu-socket'),
    /** The kernel's console= argument for this port. */
    kernelConsole: z
      .string()
      .regex(/^tty\w+(,\d+\w*)?$/, 'expected a kernel console such as ttyS0,115200')
      .default('ttyS0,115200'),
  })
  .strict();

const kernelConsole = z.string().regex(/^tty\w+(,\d+\w*)?$/, 'expected a kernel console such as ttyS0,115200');

/** A local serial port: a USB serial adapter or a UART (harness/console/serial-port.ts). */
const serialConsole = z
  .object({
    kind: z.literal('serial'),
    /** Prefer a stable name: /dev/serial/by-id/... survives re-enumeration, /dev/ttyUSB0 may not. */
    path: z.string().regex(/^\//, 'expected an absolute device path such as /dev/serial/by-id/usb-FTDI_...-if00-port0'),
    baud: z.number().int().min(50).max(4_000_000).default(115200),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
    stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
    flowControl: z.enum(['none', 'rtscts', 'xonxoff']).default('none'),
    kernelConsole: kernelConsole.default('ttyS0,115200'),
  })
  .strict();

/** A console server port (ser2net, a terminal server), raw TCP or telnet (harness/console/tcp.ts). */
const tcpConsole = z
  .object({
    kind: z.literal('tcp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    telnet: z.boolean().default(false),
    kernelConsole: kernelConsole.default('ttyS0,115200'),
  })
  .strict();

/**
 * A board's serial console over its BMC, IPMI Serial-over-LAN (harness/console/ipmi-sol.ts). The BMC
 * fields may be left out when the power driver is 'ipmi': they then default to the power driver's BMC.
 */
const ipmiSolConsole = z
  .object({
    kind: z.literal('ipmi-sol'),
    host: host.optional(),
    port: z.number().int().min(1).max(65535).optional(),
    username: z.string().min(1).optional(),
    passwordEnv: envName.optional(),
    /** RMCP+ cipher suite; default: the power driver's first, else 3. */
    cipherSuite: z.number().int().min(0).max(17).optional(),
    kernelConsole: kernelConsole.default('ttyS0,115200'),
  })
  .strict();

const qemuTapNetwork = z
  .object({
    kind: z.literal('qemu-tap'),
    mac,
  })
  .strict();

const ipv4 = z
  .string()
  .regex(
    /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/,
    'expected an IPv4 address such as 192.168.10.20',
  );

/**
 * A real board wired to a lab interface of the host: the job's PXE server
 * serves from a macvlan on that interface, with its own address
 * (harness/pxe/lab-network.ts). 'dhcp': the interface is a private boot
 * network and the job is its DHCP server. 'proxy': the lab already runs DHCP
 * and the job only adds the boot information (proxyDHCP).
 */
const labNetwork = z
  .object({
    kind: z.literal('lab'),
    /** The host interface the board is wired to; a boot VLAN is its VLAN interface (enp3s0.42). */
    interface: interfaceName,
    /** The namespace holding that interface, when it is not the host's (tests; labs that keep it in a namespace). */
    netns: netnsName.optional(),
    mode: z.enum(['dhcp', 'proxy']),
    /** The job's own address on the lab network, with its prefix length; distinct for every target on one interface. */
    serverAddress: z
      .string()
      .regex(
        /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/(8|9|[12]\d|30)$/,
        'expected an address with its prefix length such as 192.168.10.250/24',
      ),
    /** The board's fixed address, given by the job in 'dhcp' mode; in 'proxy' mode the lab's DHCP server chooses it. */
    boardAddress: ipv4.optional(),
    mac,
  })
  .strict();

/**
 * U-Boot's stage of the boot. 'script': U-Boot boots on its own (distro boot)
 * and runs the boot script the PXE server generates. 'interactive': the
 * harness stops autoboot at `interrupt`, waits for `prompt`, and types
 * `commands` one by one, each checked against U-Boot's error messages.
 * Commands name the job's facts in braces ({serverIp}, {kernel}, {initrd},
 * {dtb}, {fdtAddr}, {cmdline}, {mac}, {boardIp}); U-Boot's own ${variables}
 * stay as they are. Without `commands`, the default TFTP-and-booti list is used.
 */
/** U-Boot's TFTP settings when a target names none (measured: `npm run bench:uboot`). */
export const UBOOT_TFTP_DEFAULTS = { blockSize: 1468, windowSize: 16 } as const;

const ubootBoot = z
  .object({
    mode: z.enum(['script', 'interactive']).default('script'),
    /** 'arm64' or 'arm': the architecture written into the boot script's image header. */
    arch: z.enum(['arm64', 'arm']).default('arm64'),
    /** A device tree to serve as dtb/<fdtfile> (a file of the image); unset: the tree U-Boot booted with. */
    fdtfile: z
      .string()
      .regex(/^[\w./-]+$/, 'expected a DTB name such as rockchip/rk3399-rock-pi-4b.dtb')
      .refine((v) => !v.split('/').includes('..'), 'no .. in a DTB name')
      .optional(),
    interrupt: z.string().min(1).default('Hit any key to stop autoboot'),
    /** The key sent to stop autoboot. */
    interruptKey: z.string().min(1).default(' '),
    prompt: z.string().min(1).default('=> '),
    commands: z.array(z.string().min(1)).min(1).optional(),
    /**
     * U-Boot's TFTP block size (its tftpblocksize variable, RFC 2348): 1468 bytes fill a 1500-byte
     * Ethernet frame; a network with a smaller MTU needs less (512 always fits). A U-Boot without the
     * variable ignores it.
     */
    tftpBlockSize: z.number().int().min(512).max(1468).default(UBOOT_TFTP_DEFAULTS.blockSize),
    /**
     * Blocks U-Boot takes per ACK (its tftpwindowsize variable, RFC 7440); 1 is lock-step, for a NIC
     * that drops back-to-back frames. A U-Boot without windowsize support ignores it (lock-step).
     */
    tftpWindowSize: z.number().int().min(1).max(16).default(UBOOT_TFTP_DEFAULTS.windowSize),
    /** Time-out for each command to give the prompt back (a TFTP transfer of an initrd takes a while). */
    commandTimeoutS: z.number().positive().max(3600).default(300),
  })
  .strict();

/** A pool's name: lower-case letters, digits and dashes, as a target's. */
export const poolName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,40}$/,
    'expected a pool name of lower-case letters, digits and dashes, such as x86-server',
  );

/**
 * Where CI runs this target's jobs. `agent`: the Jenkins agent label of the
 * host the target is wired to (its console, its lab interface, its PDU's
 * network); a pipeline runs the target's stage on an agent with that label
 * (`agent { label ... }`). Unset: 'hil-lab', the label of the Jenkinsfile's
 * lab host. See docs/jenkins.md.
 */
const jenkins = z
  .object({
    agent: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a Jenkins agent label such as hil-lab-2 (letters, digits, . _ -)'),
  })
  .strict();

export const targetSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'expected lower-case letters, digits and dashes'),
    description: z.string().default(''),
    /** Boot image, by name (fixtures/images). */
    image: z.string().min(1),
    /** Extra kernel arguments for every image booted on this target. */
    kernelArgs: z.string().default(''),
    power: z.discriminatedUnion('driver', [qemuPower, ipmiPower, commandPower, snmpPduPower, pdudaemonPower]),
    console: z.discriminatedUnion('kind', [qemuSocketConsole, serialConsole, tcpConsole, ipmiSolConsole]),
    network: z.discriminatedUnion('kind', [qemuTapNetwork, labNetwork]),
    boot: z
      .object({
        /**
         * 'auto': iPXE clients get an iPXE script, kernel and initrd over HTTP; a firmware PXE ROM first
         * chainloads iPXE by its architecture (option 93): BIOS undionly.kpxe, x86-64 UEFI ipxe.efi.
         * 'chainload': as 'auto', and a BIOS iPXE ROM too first loads Debian's undionly.kpxe.
         * 'pxelinux': everything over TFTP, BIOS clients (iPXE ones too) get pxelinux.
         * See harness/pxe/client-arch.ts.
         */
        loader: z.enum(['auto', 'chainload', 'pxelinux']).default('auto'),
        /** A board whose firmware is U-Boot: how its bootloader stage is driven (harness/run/bootloader-dialogue.ts). */
        uboot: ubootBoot.optional(),
        /**
         * iPXE's "Press Ctrl-B for the iPXE command line..." waits 2 s: 'skip' types a key that is not
         * Ctrl-B when it shows, so the boot goes on at once; 'wait' leaves the wait (to press Ctrl-B in
         * `hil console`). See harness/run/firmware-prompts.ts.
         */
        ipxeBanner: z.enum(['skip', 'wait']).default('skip'),
      })
      .strict()
      .default({ loader: 'auto', ipxeBanner: 'skip' }),
    /** Power the target off when the job ends (pass, fail or abort). */
    powerOffAtEnd: z.boolean().default(true),
    /** Multiplies every milestone time-out, for slow boards. */
    timeoutScale: z.number().positive().max(100).default(1),
    /** The CI host this target is wired to (its Jenkins agent label). */
    jenkins: jenkins.default({ agent: 'hil-lab' }),
    /**
     * The pools this target belongs to: boards of one kind that any job may
     * take. `--pool NAME` takes the first free target of pool NAME on this
     * host; in Jenkins, Lockable Resources' label `pool-NAME` (docs/jenkins.md).
     */
    pools: z.array(poolName).default([]),
  })
  .strict()
  .superRefine((target, ctx) => {
    const { network, power } = target;
    const repeated = target.pools.find((pool, i) => target.pools.indexOf(pool) !== i);
    if (repeated)
      ctx.addIssue({ code: 'custom', path: ['pools'], message: `names pool '${repeated}' twice: name it once` });
    if (network.kind === 'lab' && network.mode === 'dhcp' && !network.boardAddress) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'boardAddress'],
        message: "is missing: in 'dhcp' mode the job gives the board this fixed address (for example 192.168.10.20)",
      });
    }
    if (network.kind === 'lab' && network.mode === 'proxy' && network.boardAddress) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'boardAddress'],
        message: "is not used in 'proxy' mode (the lab's DHCP server gives the address): remove it",
      });
    }
    if (power.driver === 'qemu' && network.kind === 'lab' && !power.tap) {
      ctx.addIssue({
        code: 'custom',
        path: ['power', 'tap'],
        message: 'is missing: a QEMU board on a lab network needs the tap device on that network (power.tap)',
      });
    }
    if (power.driver === 'qemu' && network.kind === 'qemu-tap' && power.tap) {
      ctx.addIssue({
        code: 'custom',
        path: ['power', 'tap'],
        message: "is only for network kind 'lab'; a qemu-tap board uses the job's own tap: remove it",
      });
    }
    if (power.driver === 'qemu' && power.firmware === 'uefi' && power.nic !== 'virtio-net-pci') {
      ctx.addIssue({
        code: 'custom',
        path: ['power', 'nic'],
        message: "must be 'virtio-net-pci' with firmware 'uefi' (OVMF has a network driver for it only)",
      });
    }
    if (power.driver === 'qemu' && power.firmware === 'uefi' && !isPc(power.arch)) {
      ctx.addIssue({
        code: 'custom',
        path: ['power', 'firmware'],
        message: `'uefi' is OVMF, an x86 firmware: an ${power.arch} board names its firmware in power.bios`,
      });
    }
    if (power.driver === 'qemu' && !power.machine && !qemuArch(power.arch).machine) {
      ctx.addIssue({
        code: 'custom',
        path: ['power', 'machine'],
        message: `architecture '${power.arch}' has no default machine here: name one, such as 'virt'`,
      });
    }
  });

export type TargetInput = z.input<typeof targetSchema>;
export type Target = z.output<typeof targetSchema>;

/** Each power driver's settings as a loaded target has them (defaults filled in): one type per schema above. */
export type PowerConfig = Target['power'];
export type QemuPowerConfig = z.output<typeof qemuPower>;
export type IpmiPowerConfig = z.output<typeof ipmiPower>;
export type CommandPowerConfig = z.output<typeof commandPower>;
export type SnmpPduPowerConfig = z.output<typeof snmpPduPower>;
export type PdudaemonPowerConfig = z.output<typeof pdudaemonPower>;

/** Declares a target; the harness validates it when it loads the file. */
export function defineTarget(target: TargetInput): TargetInput {
  return target;
}
