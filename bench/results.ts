/**
 * The JSON results of the bench commands (their --out files) and the docs
 * tables rendered from them: `npm run bench` (docs/performance.md, `main`),
 * `npm run bench:tftp` (docs/performance.md, `tftp`) and
 * `npm run bench:firmware` (docs/firmware.md, `firmware`) and `npm run
 * bench:uboot` (docs/performance.md, `uboot`).
 */
import { type Measured, tableBlock } from './docs-table.js';
import type { UbootFloorResults } from './uboot-floor.js';
import type { UbootWindowResults } from './uboot-window.js';
import { type BoardBoots, type Figure, renderBoardTable, renderTable } from './figures.js';

export type NotMeasured = { figure: string; why: string };

/** `npm run bench`. */
export type BenchResult = Measured & {
  mode: 'quick' | 'full';
  runs: number;
  /** `accel`: what every QEMU boot of the run ran under, resolved once (PXE_HIL_ACCEL overrides). */
  machine: Measured['machine'] & { accel: 'kvm' | 'tcg' };
  image: string;
  figures: Figure[];
  notMeasured: NotMeasured[];
  /** What names this run's own namespaces and processes: hil-<benchId>-seed, -tftp, -tftp-client. */
  benchId: string;
  jobIds: string[];
};

/** `npm run bench:tftp`. */
export type TftpBenchResult = Measured & {
  mode: 'quick' | 'full';
  runs: number;
  image: string;
  /** The file served, and its size. */
  file: string;
  bytes: number;
  figures: Figure[];
};

/** `npm run bench:firmware`. */
export type FirmwareBenchResult = Measured & {
  rounds: number;
  image: string;
  /** What the image's files were made from (every package: too long for the line under the table). */
  imageProvenance: string;
  /** The last milestone's name: what "booted" means for the image. */
  readyName: string;
  accel: string;
  boards: BoardBoots[];
};

/** `npm run bench:uboot`. */
export type UbootBenchResult = Measured & {
  rounds: number;
  target: string;
  image: string;
  /** The accelerator the board ran under. */
  accel: string;
  results: UbootWindowResults;
  /** The board to Run /init through pxe-hil and directly, seconds per round. */
  floor: UbootFloorResults;
  figures: Figure[];
};

export function ubootBlock(result: UbootBenchResult): string {
  return tableBlock(renderTable(result.figures, []), result);
}

export function benchBlock(result: BenchResult): string {
  return tableBlock(renderTable(result.figures, result.notMeasured), result);
}

export function tftpBlock(result: TftpBenchResult): string {
  return tableBlock(renderTable(result.figures, []), result);
}

export function firmwareBlock(result: FirmwareBenchResult): string {
  return tableBlock(renderBoardTable(result.boards, result.readyName), result);
}
