import { describe, expect, it } from 'vitest';
import { negotiate, parseReadRequest } from '../../harness/pxe/tftp-server.js';

const packet = (op: number, text: string) => Buffer.concat([Buffer.from([0, op]), Buffer.from(text, 'latin1')]);

describe('parseReadRequest', () => {
  it('reads name, mode and options', () => {
    expect(parseReadRequest(packet(1, 'pxelinux.0\0octet\0blksize\x001468\0TSIZE\x000\0'))).toEqual({
      file: 'pxelinux.0',
      mode: 'octet',
      options: new Map([
        ['blksize', '1468'],
        ['tsize', '0'],
      ]),
    });
  });

  it.each([
    ['a write request', packet(2, 'x\0octet\0')],
    ['no final NUL', packet(1, 'x\0octet')],
    ['an option without value', packet(1, 'x\0octet\0blksize\0')],
    ['an empty name', packet(1, '\0octet\0')],
    ['too short', Buffer.from([0, 1, 0])],
    ['over 512 bytes', packet(1, `${'x'.repeat(520)}\0octet\0`)],
    ['empty', Buffer.alloc(0)],
  ])('refuses %s', (_what, bytes) => {
    expect(parseReadRequest(bytes)).toBeUndefined();
  });
});

describe('negotiate', () => {
  const options = (entries: [string, string][]) => new Map(entries);
  it('caps blksize and windowsize, answers tsize with the size', () => {
    expect([
      ...negotiate(
        options([
          ['blksize', '65464'],
          ['tsize', '0'],
          ['windowsize', '64'],
        ]),
        1234,
      ),
    ]).toEqual([
      ['blksize', '1468'],
      ['tsize', '1234'],
      ['windowsize', '16'],
    ]);
  });
  it('ignores values out of range or not numbers, and options it does not know', () => {
    expect([
      ...negotiate(
        options([
          ['blksize', '7'],
          ['windowsize', '0'],
          ['tsize', '5'],
          ['timeout', '3'],
          ['blksize2', '9'],
        ]),
        10,
      ),
    ]).toEqual([]);
    expect([
      ...negotiate(
        options([
          ['blksize', '1e3'],
          ['windowsize', '-1'],
        ]),
        10,
      ),
    ]).toEqual([]);
  });
});
