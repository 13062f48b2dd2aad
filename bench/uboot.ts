/**
 * The embedded path, measured on the arm64 U-Boot board (qemu-arm64-uboot):
 * U-Boot's TFTP load of kernel and initrd with tftpwindowsize 1 against the
 * target's window (uboot-window.ts), then the board from the run's start to
 * `Run /init` through pxe-hil against its direct-kernel floor
 * (uboot-floor.ts). Shared by `npm run bench` and `npm run bench:uboot`.
 */
import { loadRunConfig } from '../harness/cli/run-config.js';
import type { Target } from '../harness/config/target.js';
import type { ImageDefinition } from '../harness/images/image.js';
import type { Figure } from './figures.js';
import { measureUbootFloor, type UbootFloorResults, ubootFloorFigures } from './uboot-floor.js';
import { measureUbootWindow, type UbootWindowResults, ubootWindowFigures } from './uboot-window.js';

export type UbootMeasurement = {
  target: Target;
  image: ImageDefinition;
  provenance: string;
  results: UbootWindowResults;
  floor: UbootFloorResults;
  figures: Figure[];
};

/** `rounds` of each measurement; `window` measures another window than the target's default against 1. */
export async function measureUboot(
  rounds: number,
  progress: (line: string) => void,
  window?: number,
): Promise<UbootMeasurement> {
  const { target, image } = await loadRunConfig({ target: 'qemu-arm64-uboot' });
  const uboot = target.boot.uboot!;
  const board =
    window === undefined
      ? target
      : { ...target, boot: { ...target.boot, uboot: { ...uboot, tftpWindowSize: window } } };
  const { provenance } = await image.prepare();
  progress(`U-Boot TFTP, ${rounds} round(s) of windowsize 1 and ${board.boot.uboot!.tftpWindowSize}`);
  const results = await measureUbootWindow(board, image, rounds);
  progress(`the arm64 board to Run /init, ${rounds} round(s) through pxe-hil and directly`);
  const floor = await measureUbootFloor(board, image, rounds);
  return {
    target,
    image,
    provenance,
    results,
    floor,
    figures: [...ubootWindowFigures(results), ...ubootFloorFigures(floor, image)],
  };
}
