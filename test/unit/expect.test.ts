import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsoleHub } from '../../harness/console/console-hub.js';
import { ConsoleExpect, ExpectTimeout, expectOn } from '../../harness/console/expect.js';
import { TargetFailure } from '../../harness/core/errors.js';
import { EventBus } from '../../harness/core/events.js';
import { FeedConsole } from '../support/fake-console.js';

let dir: string;
let source: FeedConsole;
let hub: ConsoleHub;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hil-expect-'));
  source = new FeedConsole();
  hub = new ConsoleHub(source, new EventBus());
  await hub.open({ raw: join(dir, 'console.raw'), text: join(dir, 'console.log') });
});

afterEach(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ConsoleExpect', () => {
  it('returns the match and the text before it, for a pattern that arrives later', async () => {
    const session = new ConsoleExpect(hub);
    const waiting = session.expect(/(\S+) login: /, { timeoutMs: 5000 });
    source.feed('Debian GNU/Linux 12 board ttyS0\n\nboard ');
    source.feed('login: ');
    await expect(waiting).resolves.toEqual({
      match: 'board login: ',
      before: 'Debian GNU/Linux 12 board ttyS0\n\n',
      groups: ['board'],
    });
    session.close();
  });

  it('matches a pattern split at every point across two reads, escape sequences included', async () => {
    const text = 'U-Boot SPL\r\n\x1b[0mHit any key to stop autoboot:  3 ';
    for (let cut = 1; cut < text.length; cut++) {
      const session = new ConsoleExpect(hub);
      const waiting = session.expect('Hit any key to stop autoboot', { timeoutMs: 5000 });
      source.feed(text.slice(0, cut));
      source.feed(text.slice(cut));
      const found = await waiting;
      expect(found.before, `cut at ${cut}`).toBe('U-Boot SPL\n');
      expect(session.discard(), `cut at ${cut}`).toBe(':  3 ');
      session.close();
    }
  });

  it('matches only text after the previous match, and keeps text that came while nobody waited', async () => {
    const session = new ConsoleExpect(hub);
    source.feed('# ');
    expect((await session.expect('# ')).before).toBe('');
    session.sendLine('uname -r');
    expect(source.written).toEqual(['uname -r\r']);
    // The answer comes before the next expect is called: it is kept, and the old prompt is not matched again.
    source.feed('uname -r\n6.1.0-28-amd64\n# ');
    const found = await session.expect(/^(\d+\.\d+\S*)$/m, { timeoutMs: 5000 });
    expect(found.groups).toEqual(['6.1.0-28-amd64']);
    expect(found.before).toBe('uname -r\n');
    expect(await session.expect('# ', { timeoutMs: 5000 })).toEqual({ match: '# ', before: '\n', groups: [] });
    session.close();
  });

  it('does not match text that came before it was made', async () => {
    source.feed('login: ');
    const session = new ConsoleExpect(hub);
    await expect(session.expect('login: ', { timeoutMs: 50 })).rejects.toBeInstanceOf(ExpectTimeout);
    source.feed('login: ');
    expect((await session.expect('login: ')).match).toBe('login: ');
    session.close();
  });

  it('names the pattern and the last lines when it times out', async () => {
    source.feed('U-Boot 2023.01\nDRAM:  1 GiB\nHit any key');
    const error = await expectOn(hub, /Starting kernel/, { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpectTimeout);
    expect(error).toBeInstanceOf(TargetFailure);
    const timeout = error as ExpectTimeout;
    expect(timeout.pattern).toBe('/Starting kernel/');
    expect(timeout.lastLines).toEqual(['U-Boot 2023.01', 'DRAM:  1 GiB', 'Hit any key']);
    expect(timeout.message).toBe(
      'console did not show /Starting kernel/ within 0.0 s; last lines: "U-Boot 2023.01" | "DRAM:  1 GiB" | "Hit any key"',
    );
    expect(timeout.exitCode).toBe(1);
  });

  it('a global RegExp matches the same way on every call', async () => {
    const session = new ConsoleExpect(hub);
    const prompt = /=> /g;
    source.feed('=> ');
    expect((await session.expect(prompt)).match).toBe('=> ');
    source.feed('version\nU-Boot 2023.01\n=> ');
    expect((await session.expect(prompt)).before).toBe('version\nU-Boot 2023.01\n');
    session.close();
  });

  it('refuses a second expect while one waits, and stops waiting on abort', async () => {
    const session = new ConsoleExpect(hub);
    const controller = new AbortController();
    const first = session.expect('never', { timeoutMs: 5000, signal: controller.signal });
    await expect(session.expect('other')).rejects.toThrow('one expect at a time');
    controller.abort(new Error('stopped'));
    await expect(first).rejects.toThrow('stopped');
    session.close();
  });
});
