import { describe, expect, it } from 'vitest';
import { encodeShareData, SHARE_BREAK, ShareDecoder } from '../../harness/console/console-share.js';

describe('console share framing', () => {
  it('carries 0xff data and break requests, split anywhere', () => {
    const wire = Buffer.concat([
      Buffer.from('ab'),
      encodeShareData(Buffer.from([0xff, 0x41])),
      SHARE_BREAK,
      Buffer.from('c'),
    ]);
    expect([...wire]).toEqual([0x61, 0x62, 0xff, 0xff, 0x41, 0xff, 0xf3, 0x63]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const decoder = new ShareDecoder();
      const first = decoder.decode(wire.subarray(0, cut));
      const second = decoder.decode(wire.subarray(cut));
      expect([...Buffer.concat([first.data, second.data])], `cut at ${cut}`).toEqual([0x61, 0x62, 0xff, 0x41, 0x63]);
      expect(first.breaks + second.breaks, `cut at ${cut}`).toBe(1);
    }
  });
});
