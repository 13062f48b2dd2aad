import { describe, expect, it } from 'vitest';
import { AnsiStripper } from '../../harness/console/ansi.js';

describe('AnsiStripper', () => {
  it('removes CSI, OSC, charset selection and C0 controls but keeps newlines and tabs', () => {
    const s = new AnsiStripper();
    expect(s.push('\x1b[1;31mred\x1b[0m\tx\r\n\x1b]0;title\x07\x1b(B\x0elq\x0fok\x07\n')).toBe('red\tx\nlqok\n');
  });

  it('holds an escape sequence split across reads until it is complete', () => {
    const s = new AnsiStripper();
    expect(s.push('Select a \x1b[')).toBe('Select a ');
    expect(s.push('7;3')).toBe('');
    expect(s.push('1Hlanguage')).toBe('language');
  });

  it('handles an escape byte as the last byte of a read', () => {
    const s = new AnsiStripper();
    expect(s.push('abc\x1b')).toBe('abc');
    expect(s.push('[Kdef')).toBe('def');
  });

  it('drops an unfinished escape at the end of the stream', () => {
    const s = new AnsiStripper();
    expect(s.push('x\x1b[7;3')).toBe('x');
    expect(s.flush()).toBe('');
  });

  it('gives up on an escape that never ends instead of holding text forever', () => {
    const s = new AnsiStripper();
    s.push(`\x1b]${'a'.repeat(300)}`);
    expect(s.push('visible')).toBe('visible');
  });
});
