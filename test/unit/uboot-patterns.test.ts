import { describe, expect, it } from 'vitest';
import { MilestoneWatcher } from '../../harness/console/milestone-watcher.js';
import { ubootFailurePatterns, ubootMilestones } from '../../harness/images/boot-patterns.js';
import { UbootLoadReader } from '../../harness/console/uboot-loads.js';

/** A U-Boot boot as a board prints it (SPL first, then U-Boot proper). */
const BOOT = [
  'U-Boot SPL 2023.01 (Jan 01 2023 - 00:00:00 +0000)',
  'Trying to boot from MMC1',
  '',
  '',
  'U-Boot 2023.01-00042-gdeadbee (Jan 01 2023 - 00:00:00 +0000)',
  '',
  'DRAM:  1 GiB',
  'Net:   eth0: ethernet@ff540000',
  'Hit any key to stop autoboot:  2 \b\b\b 1 \b\b\b 0 ',
  'BOOTP broadcast 1',
  'DHCP client bound to address 10.42.0.10 (3 ms)',
  'Using ethernet@ff540000 device',
  'TFTP from server 10.42.0.1; our IP address is 10.42.0.10',
  "Filename 'Image'.",
  '## Flattened Device Tree blob at 01f00000',
  'Starting kernel ...',
  '',
].join('\r\n');

const reached = (text: string, chunk: number) => {
  const watcher = new MilestoneWatcher(ubootMilestones(), ubootFailurePatterns);
  const results = [];
  for (let i = 0; i < text.length; i += chunk)
    results.push(...watcher.feedConsole(text.slice(i, i + chunk).replace(/\r/g, '')));
  return results.map((r) =>
    r.kind === 'milestone' ? `${r.milestone.name}: ${r.text}` : `failure ${r.pattern.name}: ${r.line}`,
  );
};

describe('U-Boot patterns', () => {
  it('passes the banner, the autoboot prompt and the kernel hand-over, in any read size', () => {
    for (const chunk of [1, 7, 64, BOOT.length]) {
      expect(reached(BOOT, chunk), `reads of ${chunk}`).toEqual([
        'U-Boot banner: U-Boot 2023.01-00042-gdeadbee (Jan 01 2023 - 00:00:00 +0000)',
        'U-Boot autoboot: Hit any key to stop autoboot',
        'Starting kernel: Starting kernel ...',
      ]);
    }
  });

  it('does not take the SPL banner for U-Boot proper', () => {
    expect(reached('U-Boot SPL 2023.01 (Jan 01 2023)\r\nTrying to boot from MMC1\r\n', 5)).toEqual([]);
  });

  it.each([
    ['### ERROR ### Please RESET the board ###', 'U-Boot reset request'],
    ['Wrong Image Format for bootm command', 'U-Boot bad image'],
    ['   Verifying Checksum ... Bad Data CRC', 'U-Boot bad image'],
    ["ERROR: can't get kernel image!", 'U-Boot no kernel'],
    ["TFTP error: 'File not found' (1)", 'U-Boot TFTP failed'],
    ['Retry count exceeded; starting again', 'U-Boot TFTP failed'],
    ['SPL: failed to boot from all boot devices', 'U-Boot SPL failed'],
    ['"Synchronous Abort" handler, esr 0x96000004', 'U-Boot data abort'],
  ])('names the failure in %j', (line, name) => {
    const watcher = new MilestoneWatcher(ubootMilestones(), ubootFailurePatterns);
    const results = watcher.feedConsole(`U-Boot 2023.01 (Jan 01 2023)\n${line}\n`);
    expect(results.map((r) => (r.kind === 'failure' ? `${r.pattern.name}: ${r.line}` : r.milestone.name))).toEqual([
      'U-Boot banner',
      `${name}: ${line.trim()}`,
    ]);
  });
});

describe('UbootLoadReader', () => {
  const LOADS = [
    'Using e1000#0 device',
    'TFTP from server 10.42.0.1; our IP address is 10.42.0.10',
    "Filename 'linux'.",
    'Load address: 0x40400000',
    'Loading: ##################################################  31.4 MiB',
    '\t 1.1 MiB/s',
    'done',
    'Bytes transferred = 32956352 (1f6dfc0 hex)',
    "Filename 'no-such-file'.",
    "TFTP error: 'File not found' (1)",
    "Filename 'initrd.gz'.",
    'Bytes transferred = 40147331 (2649983 hex)',
    '',
  ].join('\n');

  it('reports each file U-Boot loaded with its size, not the ones that failed, however the text is split', () => {
    for (const chunk of [1, 7, 64, LOADS.length]) {
      const reader = new UbootLoadReader();
      const loads = [];
      for (let i = 0; i < LOADS.length; i += chunk) loads.push(...reader.feed(LOADS.slice(i, i + chunk)));
      expect(loads).toEqual([
        { file: 'linux', bytes: 32956352 },
        { file: 'initrd.gz', bytes: 40147331 },
      ]);
    }
  });
});
