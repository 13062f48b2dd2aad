/** What a run is asked to boot: the target file and the image, checked before anything starts. */
import { loadTarget } from '../config/load-target.js';
import type { Target } from '../config/target.js';
import type { ImageDefinition } from '../images/image.js';
import { loadImage } from '../images/load-image.js';

/** Loads and checks everything a run needs from its input; throws a UsageError before anything starts. */
export async function loadRunConfig(
  targetName: string,
  imageName?: string,
  targetsDir?: string,
  imagesDir?: string,
): Promise<{ target: Target; image: ImageDefinition }> {
  const target = await loadTarget(targetName, targetsDir);
  return { target, image: await loadImage(imageName ?? target.image, imagesDir) };
}
