/**
 * Busy polling for the file server's event loop: for a short time after a
 * TFTP window is sent, the loop keeps polling its sockets (epoll with a zero
 * timeout, one turn after another) instead of sleeping until the next packet.
 * A lock-step client's ACK then finds the server awake: on a host where a
 * sleeping thread takes tens of microseconds to be woken (a virtual machine
 * above all), that wake-up was most of each block's round trip. It is what
 * the kernel's SO_BUSY_POLL does for NICs that support it, done in user space
 * because a veth, a bridge or a macvlan do not.
 *
 * The price is CPU: at most one core per file server process, and only while
 * a transfer waits for an ACK from a client that answered its last window
 * within the budget (tftp-server.ts decides per transfer). It is off on a
 * host with a single CPU, where polling would only keep the client from
 * running, and PXE_HIL_TFTP_BUSY_POLL_US=0 turns it off everywhere.
 */
import { availableParallelism } from 'node:os';
import { UsageError } from '../core/errors.js';

export const BUSY_POLL_ENV = 'PXE_HIL_TFTP_BUSY_POLL_US';
/** Microseconds a wait for an ACK is polled for, unless the environment says otherwise. */
export const DEFAULT_BUSY_POLL_US = 100;
const MAX_BUSY_POLL_US = 10_000;

/**
 * The busy-polling budget in microseconds: PXE_HIL_TFTP_BUSY_POLL_US, else the
 * default; 0 on a host with one CPU. A value that is not a whole number from 0
 * to 10000 is refused with the fix.
 */
export function busyPollBudgetUs(env: NodeJS.ProcessEnv = process.env, cpus = availableParallelism()): number {
  const raw = env[BUSY_POLL_ENV];
  let budget = DEFAULT_BUSY_POLL_US;
  if (raw !== undefined && raw !== '') {
    if (!/^\d{1,5}$/.test(raw) || Number(raw) > MAX_BUSY_POLL_US)
      throw new UsageError(
        `${BUSY_POLL_ENV}='${raw.slice(0, 40)}' is not a number of microseconds from 0 to ${MAX_BUSY_POLL_US}; ` +
          `unset it for the default (${DEFAULT_BUSY_POLL_US}) or set 0 to turn TFTP busy polling off`,
      );
    budget = Number(raw);
  }
  return cpus > 1 ? budget : 0;
}

/** Keeps one event loop polling until the latest deadline any caller asked for. */
export class BusyPoll {
  private until = 0;
  private turning = false;
  /** Waits that were polled (for tests and the benchmark). */
  holds = 0;

  constructor(readonly budgetMs: number) {}

  /** Polls from now for the budget (or until a later deadline already asked for). */
  hold(): void {
    if (this.budgetMs <= 0) return;
    this.holds++;
    this.until = Math.max(this.until, performance.now() + this.budgetMs);
    if (this.turning) return;
    this.turning = true;
    setImmediate(this.turn);
  }

  /** Whether the loop is being kept polling now. */
  get polling(): boolean {
    return this.turning;
  }

  /** One turn of the loop: a pending immediate makes libuv poll without blocking, then run this again. */
  private readonly turn = (): void => {
    if (performance.now() < this.until) setImmediate(this.turn);
    else this.turning = false;
  };
}
