/**
 * What the run has set up, in order, so that it can be undone in reverse on
 * success, failure, exception or signal. Each step runs even if another fails.
 */
export type TeardownStep = { label: string; undo: () => Promise<void> | void };

export class Teardown {
  private readonly steps: TeardownStep[] = [];
  private running: Promise<Error[]> | undefined;

  add(label: string, undo: () => Promise<void> | void): void {
    this.steps.push({ label, undo });
  }

  get size(): number {
    return this.steps.length;
  }

  /** Undoes everything, last first. Safe to call more than once: later calls wait for the first. */
  run(onError: (label: string, error: unknown) => void = () => {}): Promise<Error[]> {
    this.running ??= (async () => {
      const errors: Error[] = [];
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.undo();
        } catch (error) {
          onError(step.label, error);
          errors.push(error instanceof Error ? error : new Error(String(error)));
        }
      }
      return errors;
    })();
    return this.running;
  }
}
