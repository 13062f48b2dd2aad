import { UBOOT_TFTP_DEFAULTS, type Target } from '../harness/config/target.js';
import type { ImageDefinition } from '../harness/images/image.js';
import { figure, type Figure } from './figures.js';
import { runJobUntil } from './run-job-until.js';

export type UbootWindowResults = {
  blockSize: number;
  windowSize: number;
  /** Bytes of kernel and initrd. */
  bytes: number;
  /** Seconds of kernel + initrd transfer per round, lock-step and windowed. */
  lockStep: number[];
  windowed: number[];
};

/** One job on the board with the given window, stopped when its initrd is served: the load's seconds and bytes. */
async function loadOnce(target: Target, image: ImageDefinition, windowSize: number) {
  const served: { role: string; bytes: number; ms: number }[] = [];
  const uboot = target.boot.uboot!;
  const board = { ...target, boot: { ...target.boot, uboot: { ...uboot, tftpWindowSize: windowSize } } };
  await runJobUntil(board, image, 'uboot', (event, done) => {
    if (event.type !== 'file-served' || (event.role !== 'kernel' && event.role !== 'initrd')) return;
    served.push({ role: event.role, bytes: event.bytes, ms: event.durationMs });
    if (event.role === 'initrd') done('the initrd is loaded: the measurement is done');
  });
  if (served.length !== 2)
    throw new Error(`U-Boot, windowsize ${windowSize}: kernel and initrd not both served (${JSON.stringify(served)})`);
  return { seconds: (served[0]!.ms + served[1]!.ms) / 1000, bytes: served[0]!.bytes + served[1]!.bytes };
}

/** `rounds` rounds, each loading with windowsize 1 and with the default, in alternating order. */
export async function measureUbootWindow(
  target: Target,
  image: ImageDefinition,
  rounds: number,
): Promise<UbootWindowResults> {
  const uboot = target.boot.uboot;
  if (!uboot) throw new Error(`target ${target.name} has no boot.uboot`);
  const windowSize = uboot.tftpWindowSize;
  const results: UbootWindowResults = {
    blockSize: uboot.tftpBlockSize,
    windowSize,
    bytes: 0,
    lockStep: [],
    windowed: [],
  };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [1, windowSize] : [windowSize, 1];
    for (const size of order) {
      const load = await loadOnce(target, image, size);
      results.bytes = load.bytes;
      (size === 1 ? results.lockStep : results.windowed).push(load.seconds);
    }
  }
  return results;
}

/** The U-Boot rows: the windowed load against the lock-step one. */
export function ubootWindowFigures(results: UbootWindowResults): Figure[] {
  const mb = (results.bytes / 1e6).toFixed(0);
  return [
    figure({
      id: 'uboot.tftp-window',
      figure: `U-Boot 2023.01 (arm64, TCG) TFTP of kernel + initrd, ${mb} MB, ${results.blockSize}-byte blocks, tftpwindowsize ${results.windowSize} (default ${UBOOT_TFTP_DEFAULTS.windowSize})`,
      unit: 's',
      values: results.windowed,
      reference: { name: 'tftpwindowsize 1', values: results.lockStep },
      goal: { kind: 'ratio-at-most', limit: 0.5, text: '≥ 2x faster than lock-step' },
    }),
  ];
}
