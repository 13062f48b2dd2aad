/**
 * A shell over the serial console: runs a command at the target's shell
 * prompt and returns what it printed and its exit status. The command's
 * output is framed by markers unique to each call, written so that the
 * shell's echo of the command line cannot match them (the marker is split by
 * quotes in what is typed), so output and status are exact even with a
 * console that echoes and a prompt that is not known.
 */
import { randomBytes } from 'node:crypto';
import { ConsoleExpect, type ExpectConsole } from './expect.js';

export type ShellResult = { output: string; exitCode: number };

export class SerialShell {
  private readonly session: ConsoleExpect;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    console: ExpectConsole,
    readonly options: { defaultTimeoutMs?: number; lineEnding?: string } = {},
  ) {
    this.session = new ConsoleExpect(console, { lineEnding: options.lineEnding ?? '\r' });
  }

  /** Runs `command` (one line of shell) and waits for it to end; calls are run one after the other. */
  run(command: string, options: { timeoutMs?: number } = {}): Promise<ShellResult> {
    if (command.includes('\n') || command.includes('\r'))
      return Promise.reject(new Error('SerialShell.run takes one line of shell; join commands with ; or &&'));
    const next = this.queue.then(() =>
      this.runNow(command, options.timeoutMs ?? this.options.defaultTimeoutMs ?? 30_000),
    );
    this.queue = next.catch(() => {});
    return next;
  }

  close(): void {
    this.session.close();
  }

  private async runNow(command: string, timeoutMs: number): Promise<ShellResult> {
    const id = randomBytes(4).toString('hex');
    const begin = `HIL-BEGIN-${id}`;
    const end = `HIL-END-${id}`;
    this.session.discard();
    // Typed: echo HIL-BEG''IN-<id>; <command>; echo HIL-E''ND-<id>:$?  -- the echo of this line contains neither marker.
    this.session.sendLine(`echo ${split(begin)}; ${command}; echo ${split(end)}:$?`);
    await this.session.expect(new RegExp(`(^|\\n)${begin}\\n`), { timeoutMs });
    const done = await this.session.expect(new RegExp(`(?:^|\\n)${end}:(\\d+)`), { timeoutMs });
    return { output: done.before.replace(/\n$/, ''), exitCode: Number(done.groups[0]) };
  }
}

/** 'HIL-BEGIN-ab12' typed as HIL-BEG''IN-ab12: the shell prints it whole, the echoed command line does not contain it. */
function split(marker: string): string {
  const middle = Math.floor(marker.length / 2);
  return `${marker.slice(0, middle)}''${marker.slice(middle)}`;
}
