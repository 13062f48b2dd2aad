import { describe, expect, it } from 'vitest';
import { Deadline, sleep, TimeoutError } from '../../harness/core/deadline.js';

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
const never = () => new Promise<never>(() => {});

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('TimeoutError', () => {
  it('names what was waited for and for how long', () => {
    const error = new TimeoutError('the DHCP lease', 60_000);
    expect(error.message).toBe('timed out after 60.0 s waiting for the DHCP lease');
    expect(error.name).toBe('TimeoutError');
    expect(error.what).toBe('the DHCP lease');
    expect(error.timeoutMs).toBe(60_000);
  });
});

describe('Deadline.race', () => {
  it('resolves with the value of a promise that settles before the deadline', async () => {
    await expect(Deadline.in(1_000, 'the value').race(after(5, 'ok'))).resolves.toBe('ok');
  });

  it('passes on the rejection of a promise that fails before the deadline', async () => {
    const failure = new Error('boom');
    await expect(Deadline.in(1_000, 'the value').race(Promise.reject(failure))).rejects.toBe(failure);
  });

  it('rejects with a TimeoutError naming what was waited for', async () => {
    const error = await rejectionOf(Deadline.in(20, 'the kernel to be fetched').race(never()));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).what).toBe('the kernel to be fetched');
    expect((error as TimeoutError).timeoutMs).toBe(20);
    expect((error as TimeoutError).message).toBe('timed out after 0.0 s waiting for the kernel to be fetched');
  });

  it('rejects at once for a deadline that has already passed', async () => {
    const deadline = new Deadline(10, 'something', performance.now() - 1_000);
    expect(deadline.expired()).toBe(true);
    expect(deadline.remainingMs()).toBe(0);
    await expect(deadline.race(never())).rejects.toBeInstanceOf(TimeoutError);
  });

  it('rejects with the reason when the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('interrupted by SIGINT');
    const racing = Deadline.in(5_000, 'the prompt').race(never(), controller.signal);
    setTimeout(() => controller.abort(reason), 10);
    await expect(racing).rejects.toBe(reason);
  });

  it('rejects at once when the signal has already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('already stopped');
    controller.abort(reason);
    await expect(Deadline.in(5_000, 'the prompt').race(after(10, 'late'), controller.signal)).rejects.toBe(reason);
  });

  it('rejects with an AbortError when the signal aborts without a reason of its own', async () => {
    const controller = new AbortController();
    const racing = Deadline.in(5_000, 'the prompt').race(never(), controller.signal);
    controller.abort();
    const error = await rejectionOf(racing);
    expect((error as Error).name).toBe('AbortError');
  });

  it('stops listening to the signal once settled', async () => {
    const controller = new AbortController();
    await expect(Deadline.in(1_000, 'x').race(after(1, 'done'), controller.signal)).resolves.toBe('done');
    controller.abort(new Error('late abort')); // must not cause an unhandled rejection
    await sleep(5);
  });
});

describe('Deadline.poll', () => {
  it('returns the first value other than undefined', async () => {
    let calls = 0;
    const value = await Deadline.in(1_000, 'the third call').poll(() => (++calls === 3 ? 'third' : undefined), 1);
    expect(value).toBe('third');
    expect(calls).toBe(3);
  });

  it('awaits an async check, and accepts falsy values that are not undefined', async () => {
    await expect(Deadline.in(1_000, 'zero').poll(async () => 0, 1)).resolves.toBe(0);
    await expect(Deadline.in(1_000, 'null').poll(() => null, 1)).resolves.toBeNull();
    await expect(Deadline.in(1_000, 'false').poll(() => false, 1)).resolves.toBe(false);
  });

  it('times out with a TimeoutError naming what was waited for', async () => {
    let calls = 0;
    const error = await rejectionOf(
      Deadline.in(30, 'the lease file').poll(() => {
        calls++;
        return undefined;
      }, 5),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).what).toBe('the lease file');
    expect(calls).toBeGreaterThan(1);
  });

  it('passes on an error thrown by the check', async () => {
    const failure = new Error('cannot read');
    await expect(
      Deadline.in(1_000, 'x').poll(() => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });
});
