/**
 * A board's serial console over its BMC: IPMI v2.0 Serial-over-LAN with
 * `ipmitool -I lanplus sol activate`. Before each activation the console runs
 * `sol deactivate`, so a session left active by a crashed client (or another
 * host) does not block it ("already de-activated" is the normal answer).
 * ipmitool's banner ("[SOL Session operational.  Use ~? for help]") is taken
 * out of the stream; it is what says the session is up, so ipmitool runs under
 * `stdbuf -o0` (its stdout is a pipe and would otherwise hold the banner back).
 * Writes go to ipmitool's stdin; its escape character (set with -e) is
 * doubled where ipmitool would read it as an escape (at the start of a line),
 * so every byte written reaches the board and nothing written can end the
 * session. When ipmitool ends by itself (the BMC closed the session, the
 * network broke), the console says so and activates again with backoff.
 *
 * The password goes to ipmitool only through IPMI_PASSWORD in its
 * environment (-E), never on its command line.
 *
 * Tested against: ipmitool 1.8.19 and OpenIPMI's ipmi_sim 2.0.33 (lan.conf
 * `sol` on a socat pty, cipher suite 3) on Debian 12.
 * Reference: IPMI v2.0 rev 1.1 specification, chapter 26 (SOL payload,
 * activate/deactivate payload), ipmitool(1) (sol, -e, -E), ipmi_lan(5) (sol).
 */
import { Deadline } from '../core/deadline.js';
import { LabFault, UsageError } from '../core/errors.js';
import { runBounded, startChild, tailOf, type Child } from '../core/process.js';
import { redact, registerSecret } from '../core/redact.js';
import { classifyIpmitoolFailure } from '../power/ipmi.js';
import type { SolBmc } from '../config/sol-bmc.js';

export type { SolBmc };
import { ReconnectingConsole, type Backoff, type ConsoleLink, type LinkHandlers } from './reconnecting.js';

/** ipmitool's escape character for the session; writes are escaped, so any byte would do. */
export const SOL_ESCAPE = '~';
/** How long the BMC has to bring a session up. */
const ACTIVATE_TIMEOUT_MS = 30_000;
/** How long one short ipmitool command (sol deactivate, sol info) may take. */
const COMMAND_TIMEOUT_MS = 20_000;

/** The password of a BMC from the environment; a UsageError naming the variable when it is not set. */
export function solPassword(bmc: SolBmc, env: NodeJS.ProcessEnv = process.env): string {
  const password = env[bmc.passwordEnv];
  if (!password)
    throw new UsageError(
      `environment variable ${bmc.passwordEnv} is not set: it must hold the BMC password for ${bmc.host} (SOL console)`,
    );
  return password;
}

/** The ipmitool arguments that reach a BMC (the password comes from IPMI_PASSWORD, -E). */
export function ipmitoolSessionArgs(bmc: SolBmc): string[] {
  return [
    '-I',
    'lanplus',
    '-H',
    bmc.host,
    '-p',
    String(bmc.port),
    '-U',
    bmc.username,
    '-E',
    '-C',
    String(bmc.cipherSuite),
  ];
}

/**
 * Doubles ipmitool's escape character where ipmitool would take it as the start of an escape
 * (at the start of the session and after CR or LF), so the board gets it once, as written.
 */
export class SolInputEscaper {
  private atLineStart = true;

  constructor(private readonly escapeByte = SOL_ESCAPE.charCodeAt(0)) {}

  escapeBytes(data: Buffer): Buffer {
    const out: number[] = [];
    for (const byte of data) {
      if (this.atLineStart && byte === this.escapeByte) out.push(byte);
      out.push(byte);
      this.atLineStart = byte === 0x0d || byte === 0x0a;
    }
    return Buffer.from(out);
  }
}

/** Takes ipmitool's banner off the start of its output; calls `operational` once it has passed. */
export class SolBannerFilter {
  private readonly banner = Buffer.from(`[SOL Session operational.  Use ${SOL_ESCAPE}? for help]\n`);
  private held = Buffer.alloc(0);
  private passed = false;

  constructor(
    private readonly operational: () => void,
    private readonly data: (chunk: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.passed) {
      this.data(chunk);
      return;
    }
    this.held = Buffer.concat([this.held, chunk]);
    const n = Math.min(this.held.length, this.banner.length);
    if (!this.held.subarray(0, n).equals(this.banner.subarray(0, n))) {
      // Not the banner: ipmitool says nothing else first, but the bytes are not lost.
      this.pass(this.held);
      return;
    }
    if (this.held.length >= this.banner.length) this.pass(this.held.subarray(this.banner.length));
  }

  private pass(rest: Buffer): void {
    this.passed = true;
    this.held = Buffer.alloc(0);
    this.operational();
    if (rest.length > 0) this.data(rest);
  }
}

export type IpmiSolOptions = { env?: NodeJS.ProcessEnv; backoff?: Backoff };

export class IpmiSolConsole extends ReconnectingConsole {
  private readonly password: string;
  private session: Child | undefined;

  constructor(
    readonly bmc: SolBmc,
    options: IpmiSolOptions = {},
  ) {
    super(options.backoff);
    this.password = solPassword(bmc, options.env);
    registerSecret(this.password);
  }

  get endpoint(): string {
    return `ipmi-sol:${this.bmc.host}:${this.bmc.port}`;
  }

  /** The pid of the `ipmitool sol activate` holding the session now, if any. */
  get sessionPid(): number | undefined {
    return this.session?.running ? this.session.pid : undefined;
  }

  protected describeLink(): string {
    return `SOL ${this.bmc.username}@${this.bmc.host}:${this.bmc.port} (cipher suite ${this.bmc.cipherSuite})`;
  }

  protected async connect(handlers: LinkHandlers): Promise<ConsoleLink> {
    await this.deactivate(true);
    const stderr: string[] = [];
    let up = false;
    let closing = false;
    let operational: () => void = () => {};
    const isOperational = new Promise<void>((resolve) => (operational = resolve));
    const filter = new SolBannerFilter(
      () => {
        up = true;
        operational();
      },
      (chunk) => handlers.data(chunk),
    );
    const child = startChild(
      'ipmitool sol activate',
      'stdbuf',
      ['-o0', 'ipmitool', ...ipmitoolSessionArgs(this.bmc), '-e', SOL_ESCAPE, 'sol', 'activate'],
      {
        env: { IPMI_PASSWORD: this.password },
        stdin: 'pipe',
        onStdoutData: (chunk) => filter.push(chunk),
        onStderrLine: (line) => {
          // ipmitool tries to set its stdin (a pipe here) to raw mode; that is expected.
          if (!/^tcgetattr|^tcsetattr/.test(line)) stderr.push(line);
          if (stderr.length > 20) stderr.shift();
        },
      },
    );
    const stdin = child.subprocess.stdin!;
    stdin.on('error', () => {
      // ipmitool is gone; its exit reports why.
    });
    const ended = child.exited.then(
      (exit) =>
        `ipmitool sol activate on ${this.bmc.host} ended (${exit.signal ?? `exit ${exit.exitCode}`})${stderr.length ? `: ${this.scrub(tailOf(stderr.join('\n'), 2))}` : ''}`,
    );
    try {
      await Deadline.in(ACTIVATE_TIMEOUT_MS, `the SOL session on ${this.bmc.host} to come up`).race(
        Promise.race([
          isOperational,
          ended.then((reason) => Promise.reject(new LabFault(this.explain(reason, stderr.join('\n'))))),
        ]),
      );
    } catch (error) {
      await child.stop(2000);
      throw error instanceof LabFault
        ? error
        : new LabFault(
            `SOL on ${this.bmc.host}:${this.bmc.port} did not come up: ${(error as Error).message}; is SOL enabled on the BMC?`,
            { cause: error },
          );
    }
    this.session = child;
    void ended.then((reason) => {
      if (!closing && up) handlers.lost(reason);
    });
    const escaper = new SolInputEscaper();
    return {
      write: (data) => {
        if (child.running) stdin.write(escaper.escapeBytes(data));
      },
      close: async () => {
        closing = true;
        stdin.end();
        await child.stop(2000);
        if (this.session === child) this.session = undefined;
        // ipmitool does not end the session when stopped by a signal; free it for whoever comes next.
        await this.deactivate(false).catch(() => {});
      },
    };
  }

  /** `sol deactivate`; a session that is not active is fine. With `strict`, a BMC that refuses or does not answer is a LabFault. */
  private async deactivate(strict: boolean): Promise<void> {
    const outcome = await runBounded(
      'ipmitool',
      [...ipmitoolSessionArgs(this.bmc), '-N', '2', '-R', '1', 'sol', 'deactivate'],
      {
        deadline: Deadline.in(strict ? COMMAND_TIMEOUT_MS : 5000, `ipmitool sol deactivate on ${this.bmc.host}`),
        env: { IPMI_PASSWORD: this.password },
      },
    );
    const output = `${outcome.stdout}\n${outcome.stderr}`;
    if (outcome.exitCode === 0 || /already de-?activated|not active/i.test(output) || !strict) return;
    throw new LabFault(
      this.explain(
        outcome.timedOut
          ? `ipmitool sol deactivate on ${this.bmc.host} had no answer`
          : `ipmitool sol deactivate on ${this.bmc.host} failed: ${this.scrub(tailOf(output, 2))}`,
        output,
        outcome.timedOut,
      ),
    );
  }

  private explain(reason: string, output: string, timedOut = false): string {
    const { host, port, username, passwordEnv } = this.bmc;
    switch (classifyIpmitoolFailure(output, timedOut)) {
      case 'auth':
        return `IPMI authentication failed for ${host} (SOL): check the user '${username}' and the password in ${passwordEnv}`;
      case 'cipher':
        return `IPMI ${host} refused cipher suite ${this.bmc.cipherSuite} (SOL): set the console's cipherSuite to one the BMC accepts`;
      case 'no-answer':
        return `IPMI BMC ${host}:${port} did not answer (SOL): ${reason}; is the BMC up and the host and port right?`;
      default:
        if (/already active/i.test(output))
          return `${reason}; another client holds the SOL session and 'sol deactivate' did not free it`;
        return `${reason}; is SOL enabled on the BMC?`;
    }
  }

  private scrub(text: string): string {
    return redact(text, [this.password]);
  }
}

/** `sol info` on a BMC, without activating anything: resolves with ipmitool's answer, or throws a LabFault saying why not. */
export async function solInfo(bmc: SolBmc, password: string): Promise<string> {
  const outcome = await runBounded('ipmitool', [...ipmitoolSessionArgs(bmc), '-N', '2', '-R', '1', 'sol', 'info'], {
    deadline: Deadline.in(COMMAND_TIMEOUT_MS, `ipmitool sol info on ${bmc.host}`),
    env: { IPMI_PASSWORD: password },
  });
  if (outcome.exitCode === 0) return outcome.stdout;
  const output = redact(`${outcome.stdout}\n${outcome.stderr}`, [password]);
  switch (classifyIpmitoolFailure(output, outcome.timedOut)) {
    case 'auth':
      throw new LabFault(
        `IPMI authentication failed for ${bmc.host}: check the user '${bmc.username}' and the password in ${bmc.passwordEnv}`,
      );
    case 'no-answer':
      throw new LabFault(
        `IPMI BMC ${bmc.host}:${bmc.port} did not answer 'sol info'; is the BMC up and the host and port right?`,
      );
    default:
      throw new LabFault(`IPMI ${bmc.host}: 'sol info' failed: ${tailOf(output, 2) || `exit ${outcome.exitCode}`}`);
  }
}
