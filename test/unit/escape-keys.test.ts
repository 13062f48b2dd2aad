import { describe, expect, it } from 'vitest';
import { EscapeKeys } from '../../harness/cli/console-command.js';

const show = (actions: ReturnType<EscapeKeys['feed']>) =>
  actions.map((a) => (a.kind === 'send' ? `send:${a.data.toString('latin1')}` : a.kind));

describe('EscapeKeys', () => {
  it('passes typing through and stops at Ctrl-] q', () => {
    const keys = new EscapeKeys();
    expect(show(keys.feed(Buffer.from('ls -l\r')))).toEqual(['send:ls -l\r']);
    expect(show(keys.feed(Buffer.from('ab\x1dqcd')))).toEqual(['send:ab', 'quit']);
  });

  it('handles the escape split across reads, break, help and a literal Ctrl-]', () => {
    const keys = new EscapeKeys();
    expect(show(keys.feed(Buffer.from('x\x1d')))).toEqual(['send:x']);
    expect(show(keys.feed(Buffer.from('by')))).toEqual(['break', 'send:y']);
    expect(show(keys.feed(Buffer.from('\x1d\x1dz\x1d?\x1dQ')))).toEqual(['send:\x1d', 'send:z', 'help', 'quit']);
  });
});
