/**
 * A boot image: how its kernel and initrd are made from Debian's packages,
 * the kernel command line, and the milestones and failure patterns that say
 * whether it booted.
 */
import type { FailurePattern, MilestoneSpec } from '../console/patterns.js';

export type PreparedImage = {
  kernel: string;
  initrd?: string;
  /** What the files were made from, for reports: package names and versions. */
  provenance: string;
};

export type ImageDefinition = {
  name: string;
  description: string;
  /** Kernel command line; the target's console setting is appended by the run. */
  cmdline: string;
  /** Names under which kernel and initrd are served. */
  servedNames: { kernel: string; initrd?: string };
  milestones: MilestoneSpec[];
  failurePatterns: readonly FailurePattern[];
  prepare(): Promise<PreparedImage>;
};

export function defineImage(definition: ImageDefinition): ImageDefinition {
  return definition;
}
