/** Whether the harness itself runs inside a user namespace (a rootless run, harness/run/rootless.ts). */
import { readFileSync } from 'node:fs';

/**
 * Whether this process runs in a user namespace that does not map every uid
 * (its /proc/self/uid_map is not the initial "0 0 4294967295"): there only
 * the mapped ids exist, so programs must not switch to another user.
 */
export function inUserNamespace(uidMap = readUidMap()): boolean {
  const lines = uidMap.trim().split('\n');
  return !(lines.length === 1 && /^\s*0\s+0\s+4294967295\s*$/.test(lines[0] ?? ''));
}

function readUidMap(): string {
  try {
    return readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    return '0 0 4294967295';
  }
}
