/**
 * Power driver for a board with a BMC, over IPMI v2.0 LAN (RMCP+) with
 * `ipmitool -I lanplus`: `chassis power on|off|status`, and
 * `chassis bootdev pxe` before a netboot. Every action is confirmed by polling
 * `chassis power status` until the board is in the state asked for; an action
 * the BMC does not confirm in time is a lab fault. A cycle is off (confirmed),
 * a pause, then on (confirmed), so the board starts from cold.
 *
 * The password is read from the environment variable the target names and
 * passed to ipmitool with `-E` (IPMI_PASSWORD in the child's environment), so
 * it is never on a command line. The cipher suites are tried in the order the
 * target gives (default 17, then 3); the first one the BMC accepts is kept.
 * A BMC that does not answer is retried with backoff; a wrong user or password
 * is not retried.
 *
 * Tested against: ipmitool 1.8.19 and OpenIPMI's ipmi_sim 2.0.33 (lanplus,
 * cipher suite 3; ipmi_sim refuses 17) on Debian 12.
 * Reference: IPMI v2.0 rev 1.1 specification (chassis control, chassis status,
 * boot options parameter 5, RMCP+ cipher suites), ipmitool(1).
 */
import type { IpmiPowerConfig } from '../config/target.js';
import { Deadline, sleep } from '../core/deadline.js';
import { LabFault, UsageError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { redact } from '../core/redact.js';
import { runBounded, tailOf, type CommandOutcome } from '../core/process.js';
import type { PowerDriver, PowerState } from './power.js';
import { confirmState, cycleByOffOn } from './power-steps.js';

export type IpmiOptions = {
  bus?: EventBus;
  /** Where the password is looked up (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Interval of the status polls that confirm an action. */
  pollIntervalMs?: number;
};

export type IpmiFailureKind = 'auth' | 'cipher' | 'no-answer' | 'command';

/** What an ipmitool failure means, from its (verbose) output. */
export function classifyIpmitoolFailure(output: string, timedOut: boolean): IpmiFailureKind {
  if (timedOut) return 'no-answer';
  if (
    /RAKP \d HMAC is invalid|unauthorized name|invalid role|Invalid user name|Authentication type .* not supported|password is incorrect|insufficient privilege/i.test(
      output,
    )
  )
    return 'auth';
  if (
    /invalid (authentication|integrity|confidentiality) algorithm|no cipher suite match|Invalid cipher suite|Unsupported cipher suite/i.test(
      output,
    )
  )
    return 'cipher';
  if (
    /Get Auth Capabilities error|Unable to establish|No response|timed? ?out|Insufficient resources for session|Node busy|No Session Slot/i.test(
      output,
    )
  )
    return 'no-answer';
  return 'command';
}

export function parsePowerStatus(stdout: string): PowerState | undefined {
  const match = /Chassis Power is (on|off)/i.exec(stdout);
  return match ? (match[1]!.toLowerCase() as PowerState) : undefined;
}

/** The `chassis bootdev pxe` arguments for the boot options of a target. */
export function bootdevArgs(bootdev: IpmiPowerConfig['bootdev']): string[] {
  const options = [...(bootdev.persistent ? ['persistent'] : []), ...(bootdev.efi ? ['efiboot'] : [])];
  return ['chassis', 'bootdev', 'pxe', ...(options.length ? [`options=${options.join(',')}`] : [])];
}

export class IpmiPower implements PowerDriver {
  private readonly password: string;
  private readonly bus: EventBus | undefined;
  private readonly pollIntervalMs: number;
  /** Index into config.cipherSuites of the suite in use. */
  private cipherIndex = 0;

  constructor(
    private readonly config: IpmiPowerConfig,
    options: IpmiOptions = {},
  ) {
    const env = options.env ?? process.env;
    const password = env[config.passwordEnv];
    if (!password) {
      throw new UsageError(
        `environment variable ${config.passwordEnv} is not set: it must hold the BMC password for ${config.host}`,
      );
    }
    // ipmitool reads -R 0 as "use the default" (4 retries of 1 s each per request).
    if (config.requestRetries < 1)
      throw new UsageError(
        `IPMI ${config.host}: requestRetries must be at least 1 (ipmitool reads 0 as its default of 4)`,
      );
    if (config.cipherSuites.length === 0)
      throw new UsageError(`IPMI ${config.host}: cipherSuites is empty; give at least one, e.g. [17, 3]`);
    this.password = password;
    this.bus = options.bus;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
  }

  get description(): string {
    return `ipmi ${this.config.host}${this.config.port === 623 ? '' : `:${this.config.port}`}`;
  }

  /** The cipher suite in use (the first one the BMC accepted). */
  get cipherSuite(): number {
    return this.config.cipherSuites[this.cipherIndex]!;
  }

  async on(): Promise<void> {
    await this.ipmitool(['chassis', 'power', 'on']);
    await this.confirm('on', 'power on');
  }

  async off(): Promise<void> {
    await this.ipmitool(['chassis', 'power', 'off']);
    await this.confirm('off', 'power off');
  }

  cycle(): Promise<void> {
    return cycleByOffOn(this, this.config.offTimeS);
  }

  async status(): Promise<PowerState> {
    const stdout = await this.ipmitool(['chassis', 'power', 'status']);
    const state = parsePowerStatus(stdout);
    if (!state)
      throw new LabFault(
        `IPMI ${this.config.host}: unexpected answer to 'chassis power status': ${tailOf(this.scrub(stdout), 2) || '(nothing)'}`,
      );
    return state;
  }

  /** Makes the next boot (or every boot, if persistent) a network boot. */
  async prepareNetboot(): Promise<void> {
    await this.ipmitool(bootdevArgs(this.config.bootdev));
  }

  private confirm(wanted: PowerState, action: string): Promise<void> {
    const { host, confirmTimeoutS } = this.config;
    return confirmState(
      () => this.status(),
      wanted,
      Deadline.in(confirmTimeoutS * 1000, `${this.description} to report power ${wanted}`),
      {
        intervalMs: this.pollIntervalMs,
        notConfirmed: (last) =>
          `IPMI ${action} of ${host} not confirmed: the BMC still reports power ${last ?? 'unknown'} after ${confirmTimeoutS} s`,
      },
    );
  }

  /** One ipmitool command, with cipher fallback and retries; returns its stdout. */
  private async ipmitool(command: string[]): Promise<string> {
    const { host, attempts, retryBackoffMs } = this.config;
    let lastDetail = '';
    for (let attempt = 1; attempt <= attempts; ) {
      const outcome = await this.runOnce(command);
      if (outcome.exitCode === 0) return outcome.stdout;
      const output = `${outcome.stdout}\n${outcome.stderr}`;
      const kind = classifyIpmitoolFailure(output, outcome.timedOut);
      lastDetail = outcome.timedOut
        ? `no answer within ${(this.callTimeoutMs() / 1000).toFixed(0)} s`
        : tailOf(this.scrub(outcome.stderr || outcome.stdout), 2);
      switch (kind) {
        case 'auth':
          throw new LabFault(
            `IPMI authentication failed for ${host}: check the user '${this.config.username}' and the password in ${this.config.passwordEnv}`,
          );
        case 'cipher':
          if (this.cipherIndex + 1 < this.config.cipherSuites.length) {
            const refused = this.cipherSuite;
            this.cipherIndex += 1;
            this.bus?.emit({
              type: 'warning',
              message: `IPMI ${host} refused cipher suite ${refused}; using ${this.cipherSuite}`,
            });
            continue; // not an attempt: the BMC answered
          }
          throw new LabFault(
            `IPMI ${host} accepts none of the cipher suites ${this.config.cipherSuites.join(', ')}: ${lastDetail}`,
          );
        case 'command':
          throw new LabFault(
            `IPMI ${host}: '${command.join(' ')}' failed: ${lastDetail || `exit ${outcome.exitCode}`}`,
          );
        case 'no-answer':
          if (attempt < attempts) {
            const waitMs = retryBackoffMs * 2 ** (attempt - 1);
            this.bus?.emit({
              type: 'warning',
              message: `IPMI ${host} did not answer '${command.join(' ')}' (attempt ${attempt} of ${attempts}); retrying in ${(waitMs / 1000).toFixed(1)} s`,
            });
            await sleep(waitMs);
          }
          attempt += 1;
          break;
      }
    }
    throw new LabFault(
      `IPMI BMC ${host} did not answer '${command.join(' ')}' after ${attempts} attempts: ${lastDetail}`,
    );
  }

  private async runOnce(command: string[]): Promise<CommandOutcome> {
    const args = [
      '-I',
      'lanplus',
      '-H',
      this.config.host,
      '-p',
      String(this.config.port),
      '-U',
      this.config.username,
      '-E',
      '-C',
      String(this.cipherSuite),
      '-N',
      String(this.config.requestTimeoutS),
      '-R',
      String(this.config.requestRetries),
      // -v makes ipmitool say why a session failed (wrong password, cipher suite, no answer).
      '-v',
      ...command,
    ];
    const outcome = await runBounded('ipmitool', args, {
      deadline: Deadline.in(this.callTimeoutMs(), `ipmitool ${command.join(' ')} on ${this.config.host}`),
      env: { IPMI_PASSWORD: this.password },
    });
    this.bus?.emit({
      type: 'command',
      command: `ipmitool ${args.join(' ')}`,
      exitCode: outcome.exitCode,
      durationMs: outcome.durationMs,
    });
    return outcome;
  }

  /** Session set-up is up to six requests, each with its own time-out and retries. */
  private callTimeoutMs(): number {
    return (this.config.requestTimeoutS * (this.config.requestRetries + 1) * 6 + 5) * 1000;
  }

  private scrub(text: string): string {
    return redact(text.replace(/^Loading IANA PEN Registry\.\.\.$/gm, ''), [this.password]);
  }
}
