/**
 * Answers a firmware that waits for a key nobody at a CI job will press.
 * iPXE prints "Press Ctrl-B for the iPXE command line..." and waits two
 * seconds for Ctrl-B; any other key ends the wait at once and the boot goes
 * on as it would have (the key is read and dropped). Every time the banner
 * shows (the ROM's iPXE, then one it chainloads), one space is typed.
 * A target that wants the wait (to press Ctrl-B through `hil console`) sets
 * boot.ipxeBanner to 'wait'.
 *
 * Tested against: iPXE 1.0.0+git-20190125 (Debian 12 ipxe-qemu ROMs) under
 * SeaBIOS on a QEMU socket console.
 * Reference: iPXE src/hci/shell_banner.c (BANNER_TIMEOUT, getchar_timeout).
 */
import type { ConsoleHub } from '../console/console-hub.js';
import type { EventBus } from '../core/events.js';

export const IPXE_SHELL_BANNER = 'Press Ctrl-B for the iPXE command line...';
/** Not Ctrl-B: ends iPXE's wait without entering its shell. */
const ANSWER = ' ';

/** Types the answer each time the banner shows on the console; returns the unsubscribe. */
export function answerIpxeBanner(console: Pick<ConsoleHub, 'subscribe' | 'write'>, bus: EventBus): () => void {
  // The end of the text seen so far, too short to hold a whole banner: a banner split across reads still matches.
  let tail = '';
  return console.subscribe((text) => {
    const seen = tail + text;
    let from = 0;
    for (let at = seen.indexOf(IPXE_SHELL_BANNER); at !== -1; at = seen.indexOf(IPXE_SHELL_BANNER, from)) {
      console.write(ANSWER);
      bus.emit({ type: 'firmware-prompt', prompt: IPXE_SHELL_BANNER, answer: 'a space (not Ctrl-B)' });
      from = at + IPXE_SHELL_BANNER.length;
    }
    tail = seen.slice(Math.max(from, seen.length - (IPXE_SHELL_BANNER.length - 1)));
  });
}
