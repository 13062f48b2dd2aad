/**
 * The command's stdout and stderr can lose their reader mid-run: `npm run
 * hil ... | head`, a `tee` that was killed, a CI agent whose connection
 * dropped. Node ignores SIGPIPE and reports the broken pipe (EPIPE) as an
 * error on the stream; with nobody listening, that error is an uncaught
 * exception, and writing about it to a stderr just as closed raised the
 * next one: the run spun at full CPU, never powering its board off or
 * giving its lock back.
 *
 * Here the first error on either stream marks it closed. A closed stream is
 * destroyed, so later writes to it are dropped without another error (the
 * run's files keep everything), and `onClosed` is told once per stream,
 * so that a run can stop as a terminal's hang-up stops it.
 */
export type OutputName = 'stdout' | 'stderr';

type Stream = Pick<NodeJS.WritableStream, 'on'>;

export function watchOutputClosing(
  onClosed: (name: OutputName, error: Error) => void,
  streams: Record<OutputName, Stream> = { stdout: process.stdout, stderr: process.stderr },
): void {
  for (const name of ['stdout', 'stderr'] as const) {
    let closed = false;
    streams[name].on('error', (error: Error) => {
      if (closed) return;
      closed = true;
      onClosed(name, error);
    });
  }
}

/** 'EPIPE' for a reader that went away, else the error's own words. */
export function closingCause(name: OutputName, error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPIPE'
    ? `its ${name} was closed (EPIPE: nothing reads it any more)`
    : `its ${name} failed: ${error.message}`;
}
