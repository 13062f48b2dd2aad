import { describe, expect, it } from 'vitest';
import { DO, DONT, IAC, SB, SE, TelnetCodec, WILL, WONT } from '../../harness/console/telnet.js';

function codec(): { codec: TelnetCodec; replies: number[] } {
  const replies: number[] = [];
  return { codec: new TelnetCodec((bytes) => replies.push(...bytes)), replies };
}

// What ser2net 4.3's telnet accepter sends first: WILL SGA, DO SGA, WILL ECHO, DONT ECHO, DO BINARY, WILL BINARY.
const SER2NET_GREETING = [IAC, WILL, 3, IAC, DO, 3, IAC, WILL, 1, IAC, DONT, 1, IAC, DO, 0, IAC, WILL, 0];

describe('TelnetCodec', () => {
  it('takes the negotiation out of the data and answers it once', () => {
    const { codec: c, replies } = codec();
    const data = c.decode(Buffer.from([...SER2NET_GREETING, ...Buffer.from('hello from board\r\n')]));
    expect(data.toString()).toBe('hello from board\r\n');
    expect(replies).toEqual([IAC, DO, 3, IAC, WILL, 3, IAC, DO, 1, IAC, WILL, 0, IAC, DO, 0]);
    // The same requests again change nothing, so nothing is answered: no option loop.
    replies.length = 0;
    expect(c.decode(Buffer.from(SER2NET_GREETING)).length).toBe(0);
    expect(replies).toEqual([]);
    expect(c.receivingBinary).toBe(true);
  });

  it('refuses options it does not know, including the RFC 2217 com port option', () => {
    const { codec: c, replies } = codec();
    c.decode(Buffer.from([IAC, DO, 44, IAC, WILL, 44, IAC, DO, 24, IAC, DONT, 7, IAC, WONT, 7]));
    expect(replies).toEqual([IAC, WONT, 44, IAC, DONT, 44, IAC, WONT, 24]);
  });

  it('decodes the same at every split of the stream', () => {
    const stream = Buffer.from([
      ...SER2NET_GREETING,
      ...Buffer.from('U-Boot 2023.01'),
      IAC,
      IAC, // a data byte 0xff
      IAC,
      SB,
      44,
      1,
      0,
      0,
      0x1c,
      0x20,
      IAC,
      IAC,
      IAC,
      SE, // a subnegotiation, skipped whole
      IAC,
      241, // NOP
      ...Buffer.from('\r\n=> '),
    ]);
    const expected = Buffer.concat([Buffer.from('U-Boot 2023.01'), Buffer.from([0xff]), Buffer.from('\r\n=> ')]);
    for (let cut = 1; cut < stream.length; cut++) {
      const { codec: c, replies } = codec();
      const data = Buffer.concat([c.decode(stream.subarray(0, cut)), c.decode(stream.subarray(cut))]);
      expect(data.equals(expected), `cut at ${cut}: ${JSON.stringify(data.toString('latin1'))}`).toBe(true);
      expect(replies.length, `cut at ${cut}`).toBe(15);
    }
  });

  it('drops the NUL after a CR outside binary mode, and keeps it in binary mode', () => {
    const { codec: c } = codec();
    expect([...c.decode(Buffer.from('a\r\0b\r\n'))]).toEqual([...Buffer.from('a\rb\r\n')]);
    c.decode(Buffer.from([IAC, WILL, 0]));
    expect([...c.decode(Buffer.from('a\r\0b'))]).toEqual([...Buffer.from('a\r\0b')]);
  });

  it('encodes data: IAC doubled, and a lone CR as CR NUL until binary is agreed', () => {
    const { codec: c } = codec();
    expect([...c.encode(Buffer.from([0x41, 0xff, 0x42]))]).toEqual([0x41, 0xff, 0xff, 0x42]);
    expect([...c.encode(Buffer.from('ls\r'))]).toEqual([...Buffer.from('ls\r\0')]);
    expect([...c.encode(Buffer.from('ls\r\n'))]).toEqual([...Buffer.from('ls\r\n')]);
    c.decode(Buffer.from([IAC, DO, 0]));
    expect([...c.encode(Buffer.from('ls\r'))]).toEqual([...Buffer.from('ls\r')]);
  });
});
