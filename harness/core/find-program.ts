/** Where an installed program is: the first folder of a list (PATH's, by default) that holds it executable. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** PATH's folders, empty entries left out (they would mean the current folder). */
export function pathDirs(path = process.env.PATH ?? ''): string[] {
  return path.split(delimiter).filter(Boolean);
}

export function findProgram(name: string, dirs = pathDirs()): string | undefined {
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}
