/**
 * `hil doctor --target NAME`: checks one target's lab parts without powering
 * anything: the secrets it names are set, its power driver answers (a status
 * read from a BMC or PDU, pdudaemon's listener, a status command; for a QEMU
 * board its program and firmware), its console opens (then closes at once),
 * and its network is there (the tun device, a lab interface). Each check says ok or FAIL and, for a FAIL, the
 * exact fix. Exit 0 when every check passed, 2 when a secret is missing (bad
 * input), 3 when a lab part failed.
 *
 * Reference: ipmitool(1) (chassis power status, sol info), pdudaemon's HTTP
 * listener, qemu-system-x86_64 -L help (firmware directories), Debian's ovmf
 * and u-boot-qemu file lists.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runBounded } from '../core/process.js';
import { isPc, qemuArch } from '../config/qemu-arch.js';
import type { Target } from '../config/target.js';
import { solBmcOf } from '../config/sol-bmc.js';
import { solInfo } from '../console/ipmi-sol.js';
import type { ConsoleSink, ConsoleSource } from '../console/console.js';
import { SerialPortConsole } from '../console/serial-port.js';
import { TcpConsole } from '../console/tcp.js';
import { Deadline } from '../core/deadline.js';
import { firstLineOf } from '../core/errors.js';
import { CommandPower } from '../power/command.js';
import { IpmiPower } from '../power/ipmi.js';
import { OVMF_CODE, OVMF_VARS } from '../power/qemu.js';
import { SnmpPduPower } from '../power/snmp-pdu.js';
import { formatCheck, type Check } from './doctor.js';

/** A check of a target; `badInput` marks a failure that is the caller's (a secret not set), not the lab's. */
export type TargetCheck = Check & { badInput?: boolean };

/** How long one check (a BMC that does not answer, a console server that hangs) may take. */
const CHECK_TIMEOUT_MS = 60_000;

type Secret = { name: string; what: string };

/** The environment variables a target names for its secrets, with what each holds. */
export function secretsOf(target: Target): Secret[] {
  const secrets: Secret[] = [];
  const power = target.power;
  if (power.driver === 'ipmi') secrets.push({ name: power.passwordEnv, what: `the BMC password for ${power.host}` });
  if (power.driver === 'snmp-pdu') {
    const auth = power.auth;
    if (auth.version === '2c')
      secrets.push({ name: auth.communityEnv, what: `the SNMP community of PDU ${power.host}` });
    else {
      secrets.push({ name: auth.authKeyEnv, what: `the SNMPv3 authentication key of PDU ${power.host}` });
      if (auth.privProtocol !== 'none' && auth.privKeyEnv)
        secrets.push({ name: auth.privKeyEnv, what: `the SNMPv3 privacy key of PDU ${power.host}` });
    }
  }
  if (target.console.kind === 'ipmi-sol') {
    const bmc = solBmcOf(target.console, target.power);
    secrets.push({ name: bmc.passwordEnv, what: `the BMC password for ${bmc.host} (SOL console)` });
  }
  return secrets.filter((s, i) => secrets.findIndex((t) => t.name === s.name) === i);
}

export async function checkTarget(target: Target, env: NodeJS.ProcessEnv = process.env): Promise<TargetCheck[]> {
  const missing = new Set(
    secretsOf(target)
      .filter((s) => !env[s.name])
      .map((s) => s.name),
  );
  const checks: TargetCheck[] = secretsOf(target).map((s) =>
    missing.has(s.name)
      ? {
          name: `secret ${s.name}`,
          ok: false,
          required: true,
          badInput: true,
          detail: `not set (${s.what})`,
          fix: `export ${s.name}=... (${s.what}) before running hil`,
        }
      : { name: `secret ${s.name}`, ok: true, required: true, detail: `set (${s.what})` },
  );
  checks.push(await bounded('power', () => checkPower(target, env, missing)));
  checks.push(await bounded('console', () => checkConsole(target, env, missing)));
  checks.push(await checkNetwork(target));
  return checks;
}

/** Prints the checks of one target; 0 when all passed, 2 when a secret is missing, else 3. */
export async function doctorTarget(
  target: Target,
  options: { write: (text: string) => void; env?: NodeJS.ProcessEnv },
): Promise<number> {
  options.write(`target ${target.name}${target.description ? ` (${target.description})` : ''}; nothing is powered\n`);
  const checks = await checkTarget(target, options.env);
  for (const check of checks) options.write(`${formatCheck(check)}\n`);
  if (checks.some((c) => !c.ok && c.badInput)) return 2;
  return checks.every((c) => c.ok || !c.required) ? 0 : 3;
}

async function bounded(name: string, check: () => Promise<TargetCheck>): Promise<TargetCheck> {
  try {
    return await Deadline.in(CHECK_TIMEOUT_MS, `the ${name} check`).race(check());
  } catch (error) {
    return { name, ok: false, required: true, detail: firstLineOf(error), fix: 'see the message; the check gave up' };
  }
}

function notChecked(name: string, secret: string): TargetCheck {
  return {
    name,
    ok: false,
    required: true,
    badInput: true,
    detail: `not checked: ${secret} is not set`,
    fix: `export ${secret}=... and run the doctor again`,
  };
}

async function checkPower(target: Target, env: NodeJS.ProcessEnv, missing: Set<string>): Promise<TargetCheck> {
  const power = target.power;
  const name = `power (${power.driver})`;
  const file = `targets/${target.name}.ts`;
  try {
    switch (power.driver) {
      case 'qemu':
        return await checkQemu(name, power);
      case 'ipmi': {
        if (missing.has(power.passwordEnv)) return notChecked(name, power.passwordEnv);
        // One attempt: a doctor says at once that the BMC does not answer.
        const state = await new IpmiPower({ ...power, attempts: 1 }, { env }).status();
        return {
          name,
          ok: true,
          required: true,
          detail: `BMC ${power.host}:${power.port} answers: chassis power is ${state}`,
        };
      }
      case 'snmp-pdu': {
        const secret = secretsOf(target).find((s) => missing.has(s.name) && s.what.includes('PDU'));
        if (secret) return notChecked(name, secret.name);
        const state = await new SnmpPduPower({ ...power, retries: Math.min(power.retries, 1) }, { env }).status();
        return {
          name,
          ok: true,
          required: true,
          detail: `PDU ${power.host}:${power.port} answers: outlet ${power.outlet} is ${state}`,
        };
      }
      case 'pdudaemon': {
        // pdudaemon has no status request: any HTTP answer from its listener shows it is there.
        const response = await fetch(power.url, { signal: AbortSignal.timeout(power.requestTimeoutS * 1000) });
        await response.body?.cancel();
        return {
          name,
          ok: true,
          required: true,
          detail: `pdudaemon at ${power.url} answers (HTTP ${response.status}); it has no status request, so outlet ${power.outlet} of '${power.pdu}' is not read`,
        };
      }
      case 'command': {
        const driver = new CommandPower(power);
        if (!driver.status)
          return {
            name,
            ok: true,
            required: false,
            detail: 'no check: the power commands have no status command (add power.status to check it)',
          };
        return { name, ok: true, required: true, detail: `status command answers: ${await driver.status()}` };
      }
    }
  } catch (error) {
    return { name, ok: false, required: true, detail: firstLineOf(error), fix: powerFix(target, file) };
  }
}

function powerFix(target: Target, file: string): string {
  const power = target.power;
  switch (power.driver) {
    case 'ipmi':
      return `make BMC ${power.host} reachable on UDP ${power.port} (is it powered and on the lab network?), or correct power.host/power.port in ${file}`;
    case 'snmp-pdu':
      return `make PDU ${power.host} reachable on UDP ${power.port} with SNMP enabled, or correct power.host/power.auth in ${file}`;
    case 'pdudaemon':
      return `start pdudaemon with its HTTP listener at ${power.url}, or correct power.url in ${file}`;
    case 'command':
      return `run the status command by hand (${power.status}) and fix it, or correct power.status in ${file}`;
    case 'qemu':
      return isPc(power.arch)
        ? 'apt-get install qemu-system-x86 ipxe-qemu seabios ovmf'
        : `apt-get install ${qemuArch(power.arch).debianPackage} u-boot-qemu`;
  }
}

async function checkQemu(name: string, power: Extract<Target['power'], { driver: 'qemu' }>): Promise<TargetCheck> {
  if (!isPc(power.arch)) {
    const { program, debianPackage } = qemuArch(power.arch);
    const fix = `apt-get install ${debianPackage} u-boot-qemu`;
    const version = await runShort(program, ['--version']);
    if (version.exitCode !== 0) return { name, ok: false, required: true, detail: `${program} not found`, fix };
    if (power.bios && !existsSync(power.bios))
      return { name, ok: false, required: true, detail: `firmware missing: ${power.bios}`, fix };
    return { name, ok: true, required: true, detail: `${program}${power.bios ? ` with ${power.bios}` : ''}` };
  }
  const fix = 'apt-get install qemu-system-x86 ipxe-qemu seabios';
  const help = await runShort('qemu-system-x86_64', ['-L', 'help']);
  if (help.exitCode !== 0) return { name, ok: false, required: true, detail: 'qemu-system-x86_64 not found', fix };
  if (power.firmware === 'uefi') {
    const absent = [OVMF_CODE, OVMF_VARS].filter((f) => !existsSync(f));
    if (absent.length)
      return {
        name,
        ok: false,
        required: true,
        detail: `firmware missing: ${absent.join(', ')}`,
        fix: 'apt-get install ovmf',
      };
    return { name, ok: true, required: true, detail: `qemu-system-x86_64 with ${OVMF_CODE}` };
  }
  const dirs = String(help.stdout)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const rom = power.nic === 'e1000' ? 'efi-e1000.rom' : 'efi-virtio.rom';
  const absent = ['bios-256k.bin', rom].filter((f) => !dirs.some((d) => existsSync(join(d, f))));
  if (absent.length)
    return {
      name,
      ok: false,
      required: true,
      detail: `firmware missing: ${absent.join(', ')} (searched ${dirs.join(', ')})`,
      fix,
    };
  return { name, ok: true, required: true, detail: `qemu-system-x86_64 with bios-256k.bin and ${rom}` };
}

const quietSink: ConsoleSink = { data: () => {}, state: () => {} };

async function checkConsole(target: Target, env: NodeJS.ProcessEnv, missing: Set<string>): Promise<TargetCheck> {
  const config = target.console;
  const name = `console (${config.kind})`;
  const file = `targets/${target.name}.ts`;
  switch (config.kind) {
    case 'qemu-socket':
      return {
        name,
        ok: true,
        required: true,
        detail: "a QEMU board's console exists only inside a job; nothing to check",
      };
    case 'serial':
      return openAndClose(
        name,
        new SerialPortConsole({
          path: config.path,
          baud: config.baud,
          parity: config.parity,
          dataBits: config.dataBits,
          stopBits: config.stopBits,
          flowControl: config.flowControl,
        }),
        `plug the adapter in, or correct console.path in ${file} (see ls -l /dev/serial/by-id/)`,
      );
    case 'tcp':
      return openAndClose(
        name,
        new TcpConsole({ host: config.host, port: config.port, telnet: config.telnet }),
        `start the console server on ${config.host}:${config.port}, or correct console.host/console.port in ${file}`,
      );
    case 'ipmi-sol': {
      const bmc = solBmcOf(config, target.power);
      const password = env[bmc.passwordEnv];
      if (!password || missing.has(bmc.passwordEnv)) return notChecked(name, bmc.passwordEnv);
      try {
        const info = await solInfo(bmc, password);
        const enabled = /^Enabled\s*:\s*(\w+)/m.exec(info)?.[1];
        if (enabled === 'false')
          return {
            name,
            ok: false,
            required: true,
            detail: `SOL is disabled on BMC ${bmc.host}`,
            fix: `enable it: IPMI_PASSWORD=... ipmitool -I lanplus -H ${bmc.host} -U ${bmc.username} -E sol set enabled true`,
          };
        return {
          name,
          ok: true,
          required: true,
          detail: `BMC ${bmc.host}:${bmc.port} answers 'sol info' (SOL enabled: ${enabled ?? 'not said'})`,
        };
      } catch (error) {
        return {
          name,
          ok: false,
          required: true,
          detail: firstLineOf(error),
          fix: `make BMC ${bmc.host} reachable on UDP ${bmc.port}, or correct the BMC fields of console/power in ${file}`,
        };
      }
    }
  }
}

/** Opens a console as a job would and closes it at once; nothing is written to the board. */
async function openAndClose(name: string, source: ConsoleSource, fix: string): Promise<TargetCheck> {
  try {
    await source.open(quietSink);
  } catch (error) {
    await source.close().catch(() => {});
    return { name, ok: false, required: true, detail: firstLineOf(error), fix };
  }
  await source.close();
  return { name, ok: true, required: true, detail: `${source.endpoint} opens` };
}

async function checkNetwork(target: Target): Promise<TargetCheck> {
  const network = target.network;
  const name = `network (${network.kind})`;
  if (network.kind === 'lab') {
    const where = network.netns ? ` in namespace ${network.netns}` : '';
    const shown = await runShort('ip', [
      ...(network.netns ? ['-n', network.netns] : []),
      '-br',
      'link',
      'show',
      'dev',
      network.interface,
    ]);
    return shown.exitCode === 0
      ? {
          name,
          ok: true,
          required: true,
          detail: `lab interface ${network.interface}${where} exists (${String(shown.stdout).trim().split(/\s+/)[1] ?? 'state unknown'})`,
        }
      : {
          name,
          ok: false,
          required: true,
          detail: `lab interface ${network.interface} does not exist${where || ' on this host'}`,
          fix: `correct network.interface in targets/${target.name}.ts (see: ip${network.netns ? ` -n ${network.netns}` : ''} -br link)`,
        };
  }
  return existsSync('/dev/net/tun')
    ? { name, ok: true, required: true, detail: "/dev/net/tun present (the board's tap device)" }
    : { name, ok: false, required: true, detail: "/dev/net/tun missing (the board's tap device)", fix: 'modprobe tun' };
}

/** A short command with a 10 s bound; its exit code and output, never a throw. */
function runShort(program: string, args: string[]) {
  return runBounded(program, args, { deadline: Deadline.in(10_000, `${program} ${args.join(' ')}`) });
}
