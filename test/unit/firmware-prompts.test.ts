import { describe, expect, it } from 'vitest';
import { EventBus, type StepEvent } from '../../harness/core/events.js';
import { answerIpxeBanner, IPXE_SHELL_BANNER } from '../../harness/run/firmware-prompts.js';

/** A console that is fed text by the test and records what is typed. */
function fakeConsole() {
  let listener: ((text: string) => void) | undefined;
  const typed: string[] = [];
  return {
    typed,
    feed: (text: string) => listener?.(text),
    console: {
      subscribe: (l: (text: string) => void) => {
        listener = l;
        return () => (listener = undefined);
      },
      write: (data: Buffer | string) => void typed.push(String(data)),
    },
  };
}

function answering() {
  const fake = fakeConsole();
  const bus = new EventBus();
  const events: StepEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const stop = answerIpxeBanner(fake.console, bus);
  return { ...fake, events, stop };
}

describe("answering iPXE's banner", () => {
  it('types one key that is not Ctrl-B when the banner shows, and says so', () => {
    const a = answering();
    a.feed(`Features: DNS HTTP\r\n\r\n${IPXE_SHELL_BANNER}`);
    expect(a.typed).toEqual([' ']);
    expect(a.typed[0]).not.toBe('\x02');
    expect(a.events.filter((e) => e.type === 'firmware-prompt')).toHaveLength(1);
  });

  it('finds a banner split across reads, and answers it once', () => {
    const a = answering();
    a.feed('Press Ctrl-B for the i');
    expect(a.typed).toEqual([]);
    a.feed('PXE command line...');
    a.feed(' net0: 52:54:00:a1:00:01 using virtio-net');
    expect(a.typed).toEqual([' ']);
  });

  it('answers every banner: the ROM and a chainloaded iPXE', () => {
    const a = answering();
    a.feed(`${IPXE_SHELL_BANNER}\r\nok\r\n${IPXE_SHELL_BANNER}`);
    a.feed(`\r\n${IPXE_SHELL_BANNER}`);
    expect(a.typed).toEqual([' ', ' ', ' ']);
  });

  it('types nothing for other text, a partial banner, or after it is stopped', () => {
    const a = answering();
    a.feed('Press Ctrl-B to configure iPXE (PCI 00:02.0)...\r\nPress Ctrl-B for the iPXE');
    a.feed('\r\nBooting from ROM...');
    a.stop();
    a.feed(IPXE_SHELL_BANNER);
    expect(a.typed).toEqual([]);
  });
});
