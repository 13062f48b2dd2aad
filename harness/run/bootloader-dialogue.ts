/**
 * Drives a bootloader through the console, the way a person at the serial
 * port would: stop autoboot when its prompt shows, wait for the command
 * prompt, then type the boot commands one by one. Each command must give the
 * prompt back within its time-out and without one of the bootloader's error
 * messages; the last one (the boot itself) is only sent, and the boot's
 * milestones take over from there. A failed command ends the dialogue at once
 * with the bootloader's own words.
 *
 * Tested against: U-Boot 2023.01 (Debian 12 u-boot-qemu, qemu_arm64) on a
 * QEMU socket console.
 * Reference: U-Boot docs "Command line parsing", "autoboot" (bootdelay, any
 * key stops it), "tftpboot command"; labgrid UBootDriver/UBootStrategy (the
 * interrupt-then-prompt dialogue).
 */
import { ConsoleExpect, ExpectTimeout, type ExpectConsole } from '../console/expect.js';
import type { FailurePattern } from '../core/boot.js';
import { TargetFailure } from '../core/errors.js';
import type { EventBus } from '../core/events.js';

export type BootloaderPlan = {
  /** Text that says autoboot can be stopped now. */
  interrupt: string;
  interruptKey: string;
  prompt: string;
  /** Commands as typed, job facts filled in; the last one boots. */
  commands: readonly string[];
  commandTimeoutMs: number;
  /** How long to wait for the autoboot prompt after power-on. */
  interruptTimeoutMs: number;
  failurePatterns: readonly FailurePattern[];
};

/** How long the prompt may take to show after autoboot is stopped. */
const PROMPT_TIMEOUT_MS = 30_000;

export type BootloaderDialogue = { run(signal: AbortSignal): Promise<void>; close(): void };

/** Opens the dialogue now (so nothing the board prints from here on is missed); `run` drives it. */
export function openBootloaderDialogue(
  console: ExpectConsole,
  bus: EventBus,
  plan: BootloaderPlan,
): BootloaderDialogue {
  const reader = new ConsoleExpect(console, { lineEnding: '\r' });
  return {
    run: (signal) => drive(reader, bus, plan, signal),
    close: () => reader.close(),
  };
}

async function drive(reader: ConsoleExpect, bus: EventBus, plan: BootloaderPlan, signal: AbortSignal): Promise<void> {
  const started = bus.now();
  await step(bus, `wait for ${JSON.stringify(plan.interrupt)}`, () =>
    reader.expect(plan.interrupt, { timeoutMs: plan.interruptTimeoutMs, signal }),
  );
  reader.send(plan.interruptKey);
  await step(bus, `stop autoboot, wait for prompt ${JSON.stringify(plan.prompt)}`, () =>
    reader.expect(plan.prompt, { timeoutMs: PROMPT_TIMEOUT_MS, signal }),
  );
  bus.emit({
    type: 'bootloader-command',
    command: '(autoboot stopped)',
    result: 'ok',
    durationMs: bus.now() - started,
  });

  const answer = answerPattern(plan.prompt, plan.failurePatterns);
  for (const [index, command] of plan.commands.entries()) {
    const sentAt = bus.now();
    reader.sendLine(command);
    await step(bus, command, () => reader.expect(command, { timeoutMs: PROMPT_TIMEOUT_MS, signal }));
    if (index === plan.commands.length - 1) {
      bus.emit({ type: 'bootloader-command', command, result: 'sent', durationMs: bus.now() - sentAt });
      return;
    }
    const reply = await step(bus, command, () => reader.expect(answer, { timeoutMs: plan.commandTimeoutMs, signal }));
    const failure = findFailure(`${reply.before}${reply.match}`, plan.failurePatterns);
    if (failure) {
      const lastLines = `${reply.before}${reply.match}`
        .split('\n')
        .map((l) => l.trimEnd())
        .filter(Boolean)
        .slice(-10);
      bus.emit({
        type: 'bootloader-command',
        command,
        result: 'failed',
        durationMs: bus.now() - sentAt,
        detail: failure.line,
      });
      bus.emit({ type: 'failure-pattern', name: failure.pattern.name, line: failure.line, lastLines });
      throw new TargetFailure(`bootloader command '${command}' failed: ${failure.line}`);
    }
    bus.emit({
      type: 'bootloader-command',
      command,
      result: 'ok',
      durationMs: bus.now() - sentAt,
      detail: summary(reply.before),
    });
  }
}

/** Runs one wait; a time-out becomes a failed command event and a TargetFailure naming the command. */
async function step<T>(bus: EventBus, what: string, wait: () => Promise<T>): Promise<T> {
  const started = bus.now();
  try {
    return await wait();
  } catch (error) {
    if (!(error instanceof ExpectTimeout)) throw error;
    bus.emit({
      type: 'bootloader-command',
      command: what,
      result: 'failed',
      durationMs: bus.now() - started,
      detail: `no answer within ${(error.timeoutMs / 1000).toFixed(0)} s`,
    });
    bus.emit({
      type: 'milestone-timeout',
      name: `bootloader: ${what}`,
      timeoutMs: error.timeoutMs,
      lastLines: error.lastLines,
    });
    throw new TargetFailure(
      `bootloader command '${what}' got no answer within ${(error.timeoutMs / 1000).toFixed(0)} s; last lines: ${error.lastLines.slice(-3).join(' | ')}`,
      { cause: error },
    );
  }
}

/** The prompt coming back, or a whole line with an error message on it, whichever shows first. */
export function answerPattern(prompt: string, failures: readonly FailurePattern[]): RegExp {
  const errors = failures.map((f) => `[^\\n]*(?:${f.console.source})[^\\n]*\\n`);
  return new RegExp([escapeRegExp(prompt), ...errors].join('|'));
}

/** The first line of `text` that a failure pattern matches. */
export function findFailure(
  text: string,
  failures: readonly FailurePattern[],
): { pattern: FailurePattern; line: string } | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r/g, '').trim();
    const pattern = failures.find((f) => f.console.test(line));
    if (pattern) return { pattern, line };
  }
  return undefined;
}

/** What a command said, in short: the line with 'Bytes transferred' or the DHCP address, else its last line. */
export function summary(output: string): string | undefined {
  const lines = output
    .split('\n')
    .map((l) => l.replace(/\r/g, '').trim())
    .filter(Boolean);
  const telling = lines.find((l) => /Bytes transferred = |DHCP client bound to address /.test(l)) ?? lines.at(-1);
  return telling?.slice(0, 160);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
