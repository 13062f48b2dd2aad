import { describe, expect, it } from 'vitest';
import { SerialShell } from '../../harness/console/serial-shell.js';

/** A console that behaves like a shell on a serial line: echoes what is typed, prints markers and output, then a prompt. */
function fakeShellConsole(respond: (command: string) => { output: string; status: number }, chunkSize = 3) {
  const listeners = new Set<(text: string) => void>();
  const typed: string[] = [];
  const emit = (text: string) => {
    // Deliver in small pieces, so markers are split across reads.
    for (let i = 0; i < text.length; i += chunkSize) for (const l of listeners) l(text.slice(i, i + chunkSize));
  };
  return {
    typed,
    console: {
      subscribe(listener: (text: string) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      write(data: Buffer | string) {
        const line = String(data).replace(/\r$/, '');
        typed.push(line);
        setImmediate(() => {
          emit(`${line}\n`); // the echo
          const m = /^echo (\S+); (.*); echo (\S+):\$\?$/.exec(line)!;
          const unquote = (s: string) => s.replace(/''/g, '');
          const { output, status } = respond(m[2]!);
          emit(`${unquote(m[1]!)}\n${output}${output ? '\n' : ''}${unquote(m[3]!)}:${status}\nhil-small# `);
        });
      },
      lastLines: () => [],
    },
  };
}

describe('SerialShell', () => {
  it('returns the output and exit status of a command, not the echo of the command line', async () => {
    const { console, typed } = fakeShellConsole((command) =>
      command === 'uname -r' ? { output: '6.1.0-56-cloud-amd64', status: 0 } : { output: '', status: 3 },
    );
    const shell = new SerialShell(console);
    expect(await shell.run('uname -r')).toEqual({ output: '6.1.0-56-cloud-amd64', exitCode: 0 });
    expect(await shell.run('(exit 3)')).toEqual({ output: '', exitCode: 3 });
    // What is typed never contains a marker whole, so the echo cannot end the wait early.
    for (const line of typed) expect(line).not.toMatch(/HIL-BEGIN-[0-9a-f]{8}|HIL-END-[0-9a-f]{8}/);
    shell.close();
  });

  it('runs calls one after the other, each with its own markers', async () => {
    const { console, typed } = fakeShellConsole((command) => ({ output: command.toUpperCase(), status: 0 }), 1);
    const shell = new SerialShell(console);
    const results = await Promise.all(['echo a', 'echo b', 'echo c'].map((c) => shell.run(c)));
    expect(results.map((r) => r.output)).toEqual(['ECHO A', 'ECHO B', 'ECHO C']);
    expect(
      new Set(typed.map((t) => /HIL-BEG''IN-([0-9a-f]+)|HIL-BEGIN''-([0-9a-f]+)/.exec(t)?.slice(1).find(Boolean))).size,
    ).toBe(3);
    shell.close();
  });

  it('refuses more than one line', async () => {
    const shell = new SerialShell(fakeShellConsole(() => ({ output: '', status: 0 })).console);
    await expect(shell.run('echo a\necho b')).rejects.toThrow(/one line of shell/);
    shell.close();
  });
});
