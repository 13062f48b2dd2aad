/**
 * Power driver for a board switched by the lab's own shell commands (a relay
 * script, a vendor CLI), one command line per action, like LAVA's
 * hard_reset_command / power_off_command / power_on_command. Each command runs
 * with `/bin/sh -c`, with a time-out; a non-zero exit is a lab fault carrying
 * the end of its stderr. A cycle runs the `cycle` command if the target has
 * one, else `off`, a pause and `on`. The optional `status` command prints
 * `on` or `off`; without one the driver has no `status`, and says so.
 *
 * The command inherits the harness's environment, so a secret it needs is read
 * from an environment variable by the command itself, never written into the
 * target file.
 *
 * Tested against: dash 0.5.12 (/bin/sh on Debian 12) with commands that keep
 * the power state in a file.
 * Reference: sh(1) (-c), LAVA device dictionary power commands.
 */
import type { CommandPowerConfig } from '../config/target.js';
import { Deadline } from '../core/deadline.js';
import { LabFault } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import { runBounded, tailOf } from '../core/process.js';
import type { PowerDriver, PowerState } from './power.js';
import { cycleByOffOn } from './power-steps.js';

type Action = 'on' | 'off' | 'cycle' | 'status';

export class CommandPower implements PowerDriver {
  /** Present when the target has a status command. */
  readonly status?: () => Promise<PowerState>;
  readonly withoutStatus?: string;

  constructor(
    private readonly config: CommandPowerConfig,
    private readonly options: { bus?: EventBus; cwd?: string } = {},
  ) {
    const command = config.status;
    if (command) this.status = () => this.readStatus(command);
    else
      this.withoutStatus =
        "the target's power commands have no 'status' command; add power.status (a command that prints on or off)";
  }

  get description(): string {
    return 'command';
  }

  async on(): Promise<void> {
    await this.run('on', this.config.on);
  }

  async off(): Promise<void> {
    await this.run('off', this.config.off);
  }

  async cycle(): Promise<void> {
    if (this.config.cycle) await this.run('cycle', this.config.cycle);
    else await cycleByOffOn(this, this.config.offTimeS);
  }

  private async readStatus(command: string): Promise<PowerState> {
    const stdout = await this.run('status', command);
    const state = parseStateLine(stdout);
    if (!state) throw new LabFault(`power status command printed '${tailOf(stdout, 1)}', expected 'on' or 'off'`);
    return state;
  }

  private async run(action: Action, command: string): Promise<string> {
    const outcome = await runBounded(command, [], {
      shell: true,
      cwd: this.options.cwd,
      deadline: Deadline.in(this.config.timeoutS * 1000, `the power ${action} command`),
      env: { HIL_POWER_ACTION: action },
    });
    this.options.bus?.emit({ type: 'command', command, exitCode: outcome.exitCode, durationMs: outcome.durationMs });
    if (outcome.outputHeld)
      this.options.bus?.emit({
        type: 'warning',
        message: `power ${action} command left a process holding its output; went on without it`,
      });
    if (outcome.timedOut)
      throw new LabFault(`power ${action} command did not finish within ${this.config.timeoutS} s: ${command}`);
    if (outcome.exitCode !== 0) {
      const detail = tailOf(outcome.stderr) || tailOf(outcome.stdout) || 'no output';
      throw new LabFault(`power ${action} command failed (exit ${outcome.exitCode ?? 'by signal'}): ${detail}`);
    }
    return outcome.stdout;
  }
}

/** 'on' or 'off' from the last non-empty line a status command printed. */
export function parseStateLine(stdout: string): PowerState | undefined {
  const last = stdout.trim().split('\n').pop()?.trim().toLowerCase();
  return last === 'on' || last === 'off' ? last : undefined;
}
