import { describe, expect, it } from 'vitest';
import { moduleLoadOrder } from '../../harness/images/busybox-initramfs.js';

/** A module's bytes as far as the order cares: its .modinfo strings. */
const ko = (depends: string) => Buffer.from(`\0license=GPL\0depends=${depends}\0name=x\0`, 'latin1');

describe('moduleLoadOrder', () => {
  it('puts each module after the modules it depends on', () => {
    const modules = new Map([
      ['virtio_net', ko('virtio_ring,virtio,net_failover')],
      ['virtio', ko('virtio_ring')],
      ['net_failover', ko('failover')],
      ['virtio_ring', ko('')],
      ['failover', ko('')],
    ]);
    expect(moduleLoadOrder(modules)).toEqual(['virtio_ring', 'virtio', 'failover', 'net_failover', 'virtio_net']);
  });

  it('names a dependency the image does not carry', () => {
    expect(() => moduleLoadOrder(new Map([['virtio', ko('virtio_ring')]]))).toThrow(
      'kernel module virtio needs virtio_ring, which the image does not carry',
    );
  });
});
