/**
 * Streaming removal of terminal control sequences, so that patterns match
 * what a person would read on the screen. An escape sequence split across two
 * reads is held back until it is complete.
 *
 * Removed: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), two- and
 * three-byte escapes (charset selection ESC ( B, ESC 7, ...), carriage
 * returns, and C0 controls other than newline and tab (SI/SO, BEL, NUL).
 */
const ESC = '\x1b';

export class AnsiStripper {
  private held = '';

  /** Returns the printable text of `chunk`; an unfinished escape at its end is kept for the next call. */
  push(chunk: string): string {
    const text = this.held + chunk;
    this.held = '';
    let out = '';
    let i = 0;
    while (i < text.length) {
      const escAt = text.indexOf(ESC, i);
      const plainEnd = escAt === -1 ? text.length : escAt;
      if (plainEnd > i) out += stripControls(text.slice(i, plainEnd));
      if (escAt === -1) break;
      const end = escapeEnd(text, escAt);
      if (end === -1) {
        this.held = text.slice(escAt);
        // An escape that never ends must not hold text forever.
        if (this.held.length > 256) this.held = '';
        break;
      }
      i = end;
    }
    return out;
  }

  /** Ends the stream: an escape sequence left unfinished is dropped. */
  flush(): string {
    this.held = '';
    return '';
  }
}

/** Index just past the escape sequence starting at `at`, or -1 if it is incomplete. */
function escapeEnd(text: string, at: number): number {
  const kind = text[at + 1];
  if (kind === undefined) return -1;
  if (kind === '[') {
    for (let j = at + 2; j < text.length; j++) {
      const code = text.charCodeAt(j);
      if (code >= 0x40 && code <= 0x7e) return j + 1;
    }
    return -1;
  }
  if (kind === ']' || kind === 'P' || kind === '_' || kind === '^') {
    for (let j = at + 2; j < text.length; j++) {
      if (text[j] === '\x07') return j + 1;
      if (text[j] === ESC) {
        if (j + 1 >= text.length) return -1;
        if (text[j + 1] === '\\') return j + 2;
      }
    }
    return -1;
  }
  if (kind === '(' || kind === ')' || kind === '*' || kind === '+' || kind === '#' || kind === '%') {
    return at + 2 < text.length ? at + 3 : -1;
  }
  return at + 2;
}

// Every C0 control except tab and newline, and DEL.
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

function stripControls(text: string): string {
  return text.replace(CONTROLS, '');
}
