import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleHub } from '../../harness/console/console-hub.js';
import { ubootFailurePatterns } from '../../harness/images/boot-patterns.js';
import { TargetFailure } from '../../harness/core/errors.js';
import { EventBus, type StepEvent } from '../../harness/core/events.js';
import {
  answerPattern,
  openBootloaderDialogue,
  summary,
  type BootloaderPlan,
} from '../../harness/run/bootloader-dialogue.js';
import { FeedConsole } from '../support/fake-console.js';

/** A U-Boot prompt in miniature: echoes what is typed and answers from a table; `hanging` answers never give the prompt back. */
class ScriptedUboot extends FeedConsole {
  constructor(
    private readonly answers: Record<string, string>,
    private readonly hanging: Record<string, string> = {},
  ) {
    super();
  }

  override write(data: Buffer | string): void {
    super.write(data);
    const text = data.toString();
    queueMicrotask(() => {
      if (text === ' ') return this.feed('\n=> ');
      const command = text.replace(/\r$/, '');
      const answer = this.answers[command];
      this.feed(`${command}\r\n${answer ?? this.hanging[command] ?? ''}${answer === undefined ? '' : '=> '}`);
    });
  }
}

let dir: string;
let bus: EventBus;
let events: StepEvent[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-dialogue-'));
  bus = new EventBus();
  events = [];
  bus.subscribe((e) => void events.push(e));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const plan = (commands: string[]): BootloaderPlan => ({
  interrupt: 'Hit any key to stop autoboot',
  interruptKey: ' ',
  prompt: '=> ',
  commands,
  commandTimeoutMs: 5000,
  interruptTimeoutMs: 5000,
  failurePatterns: ubootFailurePatterns,
});

async function talk(uboot: ScriptedUboot, commands: string[]): Promise<{ error?: unknown }> {
  const hub = new ConsoleHub(uboot, bus);
  await hub.open({ raw: join(dir, 'console.raw'), text: join(dir, 'console.log') });
  const dialogue = openBootloaderDialogue(hub, bus, plan(commands));
  const running = dialogue.run(new AbortController().signal);
  uboot.feed('U-Boot 2023.01\r\nNet:   eth0: e1000#0\r\nHit any key to stop autoboot:  2 ');
  try {
    await running;
    return {};
  } catch (error) {
    return { error };
  } finally {
    dialogue.close();
    await hub.close();
  }
}

const commandEvents = () =>
  events.flatMap((e) =>
    e.type === 'bootloader-command' ? [`${e.command}: ${e.result}${e.detail ? ` (${e.detail})` : ''}`] : [],
  );

describe('bootloader dialogue', () => {
  it('stops autoboot, types each command after the prompt, and only sends the last one', async () => {
    const uboot = new ScriptedUboot({
      dhcp: 'BOOTP broadcast 1\r\nDHCP client bound to address 10.42.0.10 (3 ms)\r\n',
      'tftpboot ${kernel_addr_r} linux':
        "Filename 'linux'.\r\nLoading: ####\r\ndone\r\nBytes transferred = 32956352 (1f6dfc0 hex)\r\n",
    });
    const result = await talk(uboot, [
      'dhcp',
      'tftpboot ${kernel_addr_r} linux',
      'booti ${kernel_addr_r} - ${fdtcontroladdr}',
    ]);
    expect(result.error).toBeUndefined();
    expect(uboot.written).toEqual([
      ' ',
      'dhcp\r',
      'tftpboot ${kernel_addr_r} linux\r',
      'booti ${kernel_addr_r} - ${fdtcontroladdr}\r',
    ]);
    expect(commandEvents()).toEqual([
      '(autoboot stopped): ok',
      'dhcp: ok (DHCP client bound to address 10.42.0.10 (3 ms))',
      'tftpboot ${kernel_addr_r} linux: ok (Bytes transferred = 32956352 (1f6dfc0 hex))',
      'booti ${kernel_addr_r} - ${fdtcontroladdr}: sent',
    ]);
  });

  it("fails at the first command U-Boot refuses, with U-Boot's words, and types nothing after it", async () => {
    const uboot = new ScriptedUboot({
      'tftpboot ${kernel_addr_r} nosuchfile':
        "Filename 'nosuchfile'.\r\nLoading: *\r\nTFTP error: 'File not found' (1)\r\nNot retrying...\r\n",
    });
    const result = await talk(uboot, [
      'tftpboot ${kernel_addr_r} nosuchfile',
      'tftpboot ${ramdisk_addr_r} initrd.gz',
      'booti',
    ]);
    expect(result.error).toBeInstanceOf(TargetFailure);
    expect((result.error as Error).message).toBe(
      "bootloader command 'tftpboot ${kernel_addr_r} nosuchfile' failed: TFTP error: 'File not found' (1)",
    );
    expect(uboot.written).toEqual([' ', 'tftpboot ${kernel_addr_r} nosuchfile\r']);
    const failure = events.find((e) => e.type === 'failure-pattern');
    expect(failure).toMatchObject({ name: 'U-Boot TFTP failed', line: "TFTP error: 'File not found' (1)" });
  });

  it('fails on a retry loop that never gives the prompt back, as soon as U-Boot says so', async () => {
    const uboot = new ScriptedUboot(
      {},
      {
        'tftpboot ${kernel_addr_r} linux':
          'Loading: T T T T T T T T T T \r\nRetry count exceeded; starting again\r\nUsing e1000#0 device\r\n',
      },
    );
    const result = await talk(uboot, ['tftpboot ${kernel_addr_r} linux', 'booti']);
    expect((result.error as Error).message).toBe(
      "bootloader command 'tftpboot ${kernel_addr_r} linux' failed: Retry count exceeded; starting again",
    );
    expect(uboot.written).toEqual([' ', 'tftpboot ${kernel_addr_r} linux\r']);
  });

  it('matches the prompt or a whole error line, whichever comes first', () => {
    const pattern = answerPattern('=> ', ubootFailurePatterns);
    expect(pattern.exec("Loading: *\nTFTP error: 'File not found' (1)\nNot retrying...\n=> ")?.[0]).toBe(
      "TFTP error: 'File not found' (1)\n",
    );
    expect(pattern.exec('Bytes transferred = 3 (3 hex)\n=> ')?.[0]).toBe('=> ');
    expect(pattern.exec("TFTP error: 'File not fo")).toBeNull();
  });

  it('sums a command up by its transfer size or DHCP address, else its last line', () => {
    expect(summary('Loading: ##\r\nBytes transferred = 5 (5 hex)\r\n')).toBe('Bytes transferred = 5 (5 hex)');
    expect(summary('hello\r\n')).toBe('hello');
    expect(summary('')).toBeUndefined();
  });
});
