/**
 * `hil console` in a real terminal (tmux) on a real serial line (a socat pty
 * pair), the test playing a board with a small shell on the other end:
 * opened directly, shared with a running job, read-only; Ctrl-] q leaves.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJobRecord } from '../../harness/core/job-record.js';
import { execa } from 'execa';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConsoleHub } from '../../harness/console/console-hub.js';
import { shareConsole } from '../../harness/console/console-share.js';
import { SerialPortConsole } from '../../harness/console/serial-port.js';
import { Deadline } from '../../harness/core/deadline.js';
import { EventBus } from '../../harness/core/events.js';
import { HIL_COMMAND, hil, REPO, writeTargetFile } from '../support/hil.js';
import { PtyPair, PtyPeer } from '../support/pty.js';
import { testScope } from '../support/scope.js';

const scope = testScope();
let dir: string;
let pair: PtyPair;
let board: PtyPeer;
let tmuxSocket: string;
let runtime: string;
let targets: string;

beforeEach(async () => {
  dir = scope.tempDir('hil-console-');
  runtime = join(dir, 'runtime');
  targets = join(dir, 'targets');
  mkdirSync(runtime);
  mkdirSync(targets);
  tmuxSocket = join(dir, 'tmux.sock');
  pair = await scope.start(PtyPair.start(dir));
  board = new PtyPeer(pair.b);
  scope.defer(() => board.close());
  scope.defer(() => execa('tmux', ['-S', tmuxSocket, 'kill-server'], { reject: false }));
  // A tiny shell: echoes what is typed, answers each line, prints a prompt.
  let line = '';
  board.onData((text) => {
    for (const ch of text) {
      if (ch === '\r') {
        void board.write(`\r\nyou typed: ${line}\r\nboard$ `);
        line = '';
      } else {
        line += ch;
        void board.write(ch);
      }
    }
  });
  writeTargetFile(targets, {
    name: 'lab-board',
    image: 'busybox',
    power: { driver: 'qemu' },
    console: { kind: 'serial', path: pair.a, baud: 115200 },
    network: { kind: 'qemu-tap', mac: '52:54:00:a1:00:42' },
  });
});

async function tmux(...args: string[]): Promise<string> {
  return (await execa('tmux', ['-S', tmuxSocket, ...args])).stdout;
}

async function startConsole(extra: string[] = []): Promise<void> {
  const command = [
    'env',
    `PXE_HIL_RUNTIME_DIR=${runtime}`,
    process.execPath,
    ...HIL_COMMAND,
    'console',
    '--target',
    'lab-board',
    '--targets-dir',
    targets,
    ...extra,
  ]
    .map((word) => `'${word}'`)
    .join(' ');
  // The shell tmux runs the command with prints its exit status, which stays on the screen (remain-on-exit).
  await tmux(
    'new-session',
    '-d',
    '-s',
    'hil',
    '-x',
    '120',
    '-y',
    '30',
    '-c',
    REPO,
    `${command}; echo "[exit status $?]"`,
    ';',
    'set-option',
    '-t',
    'hil',
    'remain-on-exit',
    'on',
  );
}

const screen = () => tmux('capture-pane', '-p', '-t', 'hil');

async function waitForScreen(text: string): Promise<string> {
  return await Deadline.in(20_000, `${JSON.stringify(text)} on the terminal`).poll(async () => {
    const shown = await screen();
    return shown.includes(text) ? shown : undefined;
  }, 100);
}

async function leave(): Promise<string> {
  await tmux('send-keys', '-t', 'hil', 'C-]', 'q');
  const shown = await waitForScreen('[exit status ');
  return /\[exit status (\d+)\]/.exec(shown)![1]!;
}

describe('hil console', () => {
  it('opens the serial port itself when no job holds the target, types and reads, and leaves on Ctrl-] q', async () => {
    await startConsole();
    await waitForScreen(`[hil console: serial:${pair.a}, opened here;`);
    await tmux('send-keys', '-t', 'hil', 'echo hello', 'Enter');
    const shown = await waitForScreen('you typed: echo hello');
    expect(shown).toContain('echo hello\nyou typed: echo hello\nboard$');
    expect(board.received).toBe('echo hello\r');
    await tmux('send-keys', '-t', 'hil', 'C-]', 'b');
    // A pty has no break (a real UART has): the request reaches the port, which says so.
    await waitForScreen(
      `[hil console: serial port ${pair.a} cannot send a break (Inappropriate ioctl for device, cannot set)]`,
    );
    expect(board.received).toBe('echo hello\r');
    expect(await leave()).toBe('0');
    expect(await screen()).toContain('[hil console: left]');
  });

  it('shares the console of a running job instead of opening the port', async () => {
    // The "job": it holds the port through its ConsoleHub and shares it, as run-job does.
    const hub = new ConsoleHub(
      new SerialPortConsole({
        path: pair.a,
        baud: 115200,
        parity: 'none',
        dataBits: 8,
        stopBits: 1,
        flowControl: 'none',
      }),
      new EventBus(),
    );
    await hub.open({ raw: join(dir, 'console.raw'), text: join(dir, 'console.log') });
    const closeHub = scope.defer(() => hub.close());
    const share = await shareConsole(hub, join(runtime, 'console-share.sock'));
    const closeShare = scope.defer(() => share.close());
    mkdirSync(join(runtime, 'c0ffee01'));
    await writeJobRecord(join(runtime, 'c0ffee01'), {
      jobId: 'c0ffee01',
      target: 'lab-board',
      image: 'busybox',
      pid: process.pid,
      runId: 'run-c0ffee01',
      build: 'lab-7',
      consoleEndpoint: `serial:${pair.a}`,
      consoleShare: share.socketPath,
    });

    await startConsole();
    await waitForScreen(`[hil console: shared with job c0ffee01 (pid ${process.pid}, lab-7) on serial:${pair.a};`);
    await tmux('send-keys', '-t', 'hil', 'uname -a', 'Enter');
    expect(await waitForScreen('you typed: uname -a')).toContain('uname -a\nyou typed: uname -a\nboard$');
    expect(board.received).toBe('uname -a\r');
    expect(await leave()).toBe('0');
    await Deadline.in(10_000, 'the job to see the terminal detach').poll(() =>
      readFileSync(join(dir, 'console.log'), 'utf8').includes('a terminal detached') ? true : undefined,
    );
    await closeHub();
    await closeShare();
    // The job kept reading all along: the board's answer is in the job's console log too.
    const log = readFileSync(join(dir, 'console.log'), 'utf8')
      .split('\n')
      .map((l) => l.replace(/^\[\s*\d+\.\d{3}\] /, ''));
    expect(log).toEqual([
      `--- pxe-hil: console connected: ${pair.a} 115200 8N1 ---`,
      '--- pxe-hil: a terminal attached to the console ---',
      'uname -a',
      'you typed: uname -a',
      'board$ ',
      '--- pxe-hil: a terminal detached from the console ---',
      '',
    ]);
  });

  it('says why a QEMU target has no console outside a job', async () => {
    const run = await hil(['console', '--target', 'qemu-x86'], { env: { PXE_HIL_RUNTIME_DIR: runtime } });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(
      'pxe-hil: target qemu-x86 has a QEMU console, which exists only while a job runs it, and no job runs qemu-x86 now; start one (npm run hil -- --target qemu-x86) and attach again',
    );
  });

  it('sends nothing in read-only mode', async () => {
    await startConsole(['--read-only']);
    await waitForScreen(`opened here, read-only;`);
    await tmux('send-keys', '-t', 'hil', 'reboot', 'Enter');
    await board.write('U-Boot 2023.01\r\n');
    await waitForScreen('U-Boot 2023.01');
    expect(await leave()).toBe('0');
    expect(board.received).toBe('');
  });
});
