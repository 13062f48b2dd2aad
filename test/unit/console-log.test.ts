import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleLog } from '../../harness/console/console-log.js';

let dir: string;
let now: number;
let log: ConsoleLog;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hil-unit-console-'));
  now = 0;
  log = new ConsoleLog(join(dir, 'console.raw'), join(dir, 'console.log'), () => now);
});

afterEach(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
});

const text = () => readFileSync(join(dir, 'console.log'), 'utf8');
const raw = () => readFileSync(join(dir, 'console.raw'));

describe('ConsoleLog', () => {
  it('writes raw bytes exactly, including invalid UTF-8, escapes and NULs', () => {
    const first = Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0xff, 0xfe, 0x00, 0x0d, 0x0a]);
    const second = Buffer.from('Linux version 6.1\r\n\x1b]0;t\x07', 'latin1');
    log.raw(first);
    log.raw(second);
    log.raw(Buffer.alloc(0));
    expect(raw().equals(Buffer.concat([first, second]))).toBe(true);
    expect(text()).toBe('');
  });

  it('stamps each line with the clock, in seconds, at the start of the line', () => {
    now = 1_234;
    log.text('first line\nsecond line\n');
    now = 65_000.4;
    log.text('third\n');
    expect(text()).toBe('[    1.234] first line\n[    1.234] second line\n[   65.000] third\n');
  });

  it('stamps a line split across two text() calls only once, with the time it started', () => {
    now = 500;
    log.text('Run /init as ');
    now = 900;
    log.text('init process\nhil-small# ');
    now = 2_000;
    log.text('ls\n');
    expect(text()).toBe('[    0.500] Run /init as init process\n[    0.900] hil-small# ls\n');
  });

  it('stamps an empty line and writes nothing for empty text', () => {
    now = 10;
    log.text('');
    expect(text()).toBe('');
    log.text('\n\n');
    expect(text()).toBe('[    0.010] \n[    0.010] \n');
  });

  it('pads the stamp to a fixed width until it needs more digits', () => {
    now = 123_456_789;
    log.text('late\n');
    expect(text()).toBe('[123456.789] late\n');
  });

  it('writes a note on a line of its own, ending the current line first', () => {
    now = 1_000;
    log.text('partial');
    now = 2_000;
    log.note('console disconnected');
    now = 3_000;
    log.text('after\n');
    log.note('power off');
    expect(text()).toBe(
      '[    1.000] partial\n[    2.000] --- pxe-hil: console disconnected ---\n[    3.000] after\n[    3.000] --- pxe-hil: power off ---\n',
    );
  });

  it('appends to existing files instead of truncating them', () => {
    log.close();
    writeFileSync(join(dir, 'console.log'), 'earlier\n');
    writeFileSync(join(dir, 'console.raw'), 'earlier');
    log = new ConsoleLog(join(dir, 'console.raw'), join(dir, 'console.log'), () => now);
    log.raw(Buffer.from('more'));
    log.text('more\n');
    expect(raw().toString()).toBe('earliermore');
    expect(text()).toBe('earlier\n[    0.000] more\n');
  });
});
