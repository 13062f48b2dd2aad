/**
 * What a test makes and must undo, in one place: temp dirs, results roots and
 * started peers (ipmi_sim, snmpd, pdudaemon, ser2net, socat), undone newest
 * first, all of them even when one fails (the first failure is then thrown).
 * `suiteScope()` undoes after all tests of the file (or of the describe block
 * it is called in), `testScope()` after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { resultsRoot } from './hil.js';

/** A started peer: a support class (IpmiSim, Snmpd, PtyPair, Ser2net, SocketBridge) or a Child. */
export type Stoppable = { stop(): Promise<unknown> };

export class Scope {
  private readonly undo: (() => unknown)[] = [];

  /**
   * Runs `step` when the scope closes. The function returned runs it now
   * instead (a test that closes something itself before it looks at the result).
   */
  defer(step: () => unknown): () => Promise<void> {
    this.undo.push(step);
    return async () => {
      const at = this.undo.lastIndexOf(step);
      if (at < 0) return;
      this.undo.splice(at, 1);
      await step();
    };
  }

  /** A fresh directory under the system temp dir, removed with everything in it. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.defer(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A fresh results root for `--results`, removed with the runs' results. */
  results(): string {
    const dir = resultsRoot();
    this.defer(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Awaits a peer's start and stops the peer when the scope closes. */
  async start<T extends Stoppable>(starting: Promise<T>): Promise<T> {
    const peer = await starting;
    this.defer(() => peer.stop());
    return peer;
  }

  async close(): Promise<void> {
    let failure: unknown;
    while (this.undo.length > 0) {
      try {
        await this.undo.pop()!();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}

/** A scope closed after all tests of the file, or of the describe block it is called in. */
export function suiteScope(): Scope {
  const scope = new Scope();
  afterAll(() => scope.close());
  return scope;
}

/** A scope closed after each test (and ready for the next). */
export function testScope(): Scope {
  const scope = new Scope();
  afterEach(() => scope.close());
  return scope;
}
