/**
 * The tests run the command line as users do, from the build (.build/): the
 * vitest global set-up compiles harness/ first when a source is newer than
 * the build (scripts/build; nothing to do when it is current).
 */
import { execa } from 'execa';
import { REPO } from './hil.js';

export default async function buildHarness(): Promise<void> {
  const result = await execa('bash', ['scripts/build'], { cwd: REPO, reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`scripts/build failed (exit ${result.exitCode}):\n${result.all}`);
}
