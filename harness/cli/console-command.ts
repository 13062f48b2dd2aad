/**
 * `hil console --target NAME [--read-only]`: the target's console in this
 * terminal. When a job holds the target, its console is shared (the job's
 * console-share.sock, found through the job's record, core/job-record.ts) instead
 * of fought over; otherwise the console is opened here, and held exclusively
 * while this runs.
 *
 * Keys, as in telnet: Ctrl-] then q leaves, Ctrl-] then b sends a break,
 * Ctrl-] twice sends a Ctrl-], Ctrl-] then ? lists these. With --read-only,
 * nothing typed reaches the target.
 *
 * Reference: telnet(1) escape character; termios(3) raw mode (node:tty setRawMode).
 */
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Target } from '../config/target.js';
import type { ConsoleSource } from '../console/console.js';
import { encodeShareData, SHARE_BREAK } from '../console/console-share.js';
import { createConsole } from '../console/create-console.js';
import { type JobRecord, liveJobs } from '../core/job-record.js';
import { LabFault, UsageError } from '../core/errors.js';

export const ESCAPE = 0x1d; // Ctrl-]

export type KeyAction = { kind: 'send'; data: Buffer } | { kind: 'quit' } | { kind: 'break' } | { kind: 'help' };

/** Splits typed bytes into data for the target and escape commands. */
export class EscapeKeys {
  private escaped = false;

  feed(input: Buffer): KeyAction[] {
    const actions: KeyAction[] = [];
    let start = 0;
    const flush = (end: number) => {
      if (end > start) actions.push({ kind: 'send', data: input.subarray(start, end) });
    };
    for (let i = 0; i < input.length; i++) {
      const byte = input[i]!;
      if (this.escaped) {
        this.escaped = false;
        start = i + 1;
        const key = String.fromCharCode(byte).toLowerCase();
        if (byte === ESCAPE) actions.push({ kind: 'send', data: Buffer.from([ESCAPE]) });
        else if (key === 'q' || key === '.') {
          actions.push({ kind: 'quit' });
          return actions;
        } else if (key === 'b') actions.push({ kind: 'break' });
        else actions.push({ kind: 'help' });
      } else if (byte === ESCAPE) {
        flush(i);
        this.escaped = true;
        start = i + 1;
      }
    }
    if (!this.escaped) flush(input.length);
    return actions;
  }
}

export const HELP = 'Ctrl-] then: q quit, b send a break, Ctrl-] send Ctrl-], ? this help';

type Terminal = {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
};

/** One open console, whichever way it was reached. */
type Attachment = {
  description: string;
  write(data: Buffer): void;
  sendBreak(): Promise<boolean>;
  /** Resolves when the far side ends (the job finished); never for a console opened here. */
  ended: Promise<string>;
  close(): Promise<void>;
};

export async function consoleCommand(
  target: Target,
  options: { readOnly: boolean },
  terminal: Terminal = process,
): Promise<number> {
  const job = liveJobs({ target: target.name })
    .map(({ record }) => record)
    .find((record) => record.consoleShare && existsSync(record.consoleShare));
  const attachment = job ? await attachToJob(job, terminal) : await openHere(target, terminal);
  const { stdin, stderr } = terminal;
  const say = (message: string) => stderr.write(`\r\n[hil console: ${message}]\r\n`);
  say(`${attachment.description}${options.readOnly ? ', read-only' : ''}; ${HELP}`);

  const keys = new EscapeKeys();
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  let onInput: (chunk: Buffer) => void = () => {};
  const quit = new Promise<string>((resolve) => {
    onInput = (chunk: Buffer) => {
      for (const action of keys.feed(chunk)) {
        if (action.kind === 'quit') resolve('left');
        else if (action.kind === 'help') say(HELP);
        else if (action.kind === 'break') {
          if (options.readOnly) say('read-only: no break sent');
          else {
            void attachment.sendBreak().then(
              (sent) => say(sent ? 'break sent' : 'this console cannot send a break'),
              (error: unknown) => say(error instanceof Error ? error.message : String(error)),
            );
          }
        } else if (!options.readOnly) attachment.write(action.data);
      }
    };
  });
  stdin.on('data', onInput);
  stdin.resume();
  try {
    const why = await Promise.race([
      quit,
      attachment.ended,
      new Promise<string>((resolve) => stdin.once('end', () => resolve('input ended'))),
    ]);
    say(why);
  } finally {
    stdin.off('data', onInput);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    await attachment.close();
  }
  return 0;
}

async function attachToJob(job: JobRecord, terminal: Terminal): Promise<Attachment> {
  const path = job.consoleShare!;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', (error) =>
      reject(new LabFault(`cannot attach to job ${job.jobId}'s console at ${path}: ${error.message}`)),
    );
  });
  socket.on('data', (chunk: Buffer) => terminal.stdout.write(chunk));
  socket.on('error', () => {});
  const ended = new Promise<string>((resolve) =>
    socket.once('close', () => resolve(`job ${job.jobId} ended; console closed`)),
  );
  return {
    description: `shared with job ${job.jobId} (pid ${job.pid}${job.build ? `, ${job.build}` : ''}) on ${job.consoleEndpoint ?? path}`,
    write: (data) => void socket.write(encodeShareData(data)),
    sendBreak: async () => {
      socket.write(SHARE_BREAK);
      return true;
    },
    ended,
    close: async () => {
      socket.destroy();
    },
  };
}

async function openHere(target: Target, terminal: Terminal): Promise<Attachment> {
  if (target.console.kind === 'qemu-socket') {
    throw new UsageError(
      `target ${target.name} has a QEMU console, which exists only while a job runs it, and no job runs ${target.name} now; start one (npm run hil -- --target ${target.name}) and attach again`,
    );
  }
  const source: ConsoleSource = createConsole(target.console, {});
  await source.open({
    data: (chunk) => terminal.stdout.write(chunk),
    state: (state, detail) => {
      terminal.stderr.write(`\r\n[hil console: ${state}${detail ? `: ${detail}` : ''}]\r\n`);
    },
  });
  return {
    description: `${source.endpoint}, opened here`,
    write: (data) => source.write(data),
    sendBreak: async () => (await source.sendBreak?.()) ?? false,
    ended: new Promise<string>(() => {}),
    close: () => source.close(),
  };
}
