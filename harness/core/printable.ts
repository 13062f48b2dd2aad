/**
 * Text a network client chose (a requested file name, a DHCP host name or
 * vendor class, a log line quoting them) made safe to print: control
 * characters (C0, DEL, C1) and the Unicode characters that reorder or hide
 * text (bidirectional overrides and isolates, zero-width marks) become
 * visible `\xHH` / `\u{HHHH}` escapes, so nothing a client sends can move
 * the cursor, retitle the terminal or hide part of a line; and it is cut to
 * a bounded length.
 */

/** Longest client-chosen text kept (characters); the rest is replaced by '...'. */
export const MAX_CLIENT_TEXT = 256;

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/gu;

function visible(char: string): string {
  const code = char.codePointAt(0)!;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** `text` with every unsafe character escaped, at most `max` characters of it kept. */
export function printable(text: string, max: number = MAX_CLIENT_TEXT): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return cut.replace(UNSAFE, visible);
}
