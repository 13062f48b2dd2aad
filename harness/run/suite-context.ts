/**
 * What a suite knows of the target it runs against: the job's facts and how
 * to log in. The suite stage writes it (suites-<pid>.json in the job's
 * directory, one per suite run, so a `--no-boot` run beside the job's own
 * never writes the job's record) and names it in PXE_HIL_SUITE_CONTEXT;
 * fixtures/target.ts and suites/vitest.config.ts read it through here.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { z } from 'zod';

/** The environment variable that names the suite context file of the target a suite runs against. */
export const SUITE_CONTEXT_ENV = 'PXE_HIL_SUITE_CONTEXT';

export const suiteContextSchema = z.object({
  jobId: z.string(),
  target: z.string(),
  runId: z.string(),
  image: z.string(),
  kernelRelease: z.string().optional(),
  memoryMiB: z.number().optional(),
  mac: z.string(),
  /** The address the board leased in the job's network. */
  boardIp: z.string(),
  /** The harness's address as the board sees it. */
  serverIp: z.string(),
  /** The job's console, shared (harness/console/console-share.ts). */
  consoleShare: z.string().optional(),
  /** The job's power control socket (harness/run/power-control.ts). */
  powerControl: z.string().optional(),
  /** The SSH forwarder's socket, and the login it forwards to. */
  sshSocket: z.string(),
  ssh: z.object({ user: z.string(), hostKey: z.string(), hostKeyFingerprint: z.string(), clientKeyPath: z.string() }),
});

export type SuiteContext = z.infer<typeof suiteContextSchema>;

export async function writeSuiteContext(path: string, context: SuiteContext): Promise<void> {
  await writeFile(path, `${JSON.stringify(suiteContextSchema.parse(context))}\n`, { mode: 0o600 });
}

/** The context named by PXE_HIL_SUITE_CONTEXT; an error saying how suites are run when it is not set. */
export function readSuiteContext(env: NodeJS.ProcessEnv = process.env): SuiteContext {
  const path = env[SUITE_CONTEXT_ENV];
  if (!path)
    throw new Error(
      `${SUITE_CONTEXT_ENV} is not set: suites run through the harness, e.g. npm run hil -- --target qemu-x86 --image busybox --suite smoke`,
    );
  return suiteContextSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}
