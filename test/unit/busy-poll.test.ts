import { describe, expect, it } from 'vitest';
import { BusyPoll, busyPollBudgetUs } from '../../harness/pxe/busy-poll.js';
import { UsageError } from '../../harness/core/errors.js';

describe('busyPollBudgetUs', () => {
  it('is 100 µs unless the environment says otherwise', () => {
    expect(busyPollBudgetUs({}, 2)).toBe(100);
    expect(busyPollBudgetUs({ PXE_HIL_TFTP_BUSY_POLL_US: '' }, 2)).toBe(100);
    expect(busyPollBudgetUs({ PXE_HIL_TFTP_BUSY_POLL_US: '250' }, 2)).toBe(250);
    expect(busyPollBudgetUs({ PXE_HIL_TFTP_BUSY_POLL_US: '0' }, 8)).toBe(0);
  });

  it('is 0 on a host with one CPU, where polling would keep the client from running', () => {
    expect(busyPollBudgetUs({}, 1)).toBe(0);
    expect(busyPollBudgetUs({ PXE_HIL_TFTP_BUSY_POLL_US: '500' }, 1)).toBe(0);
  });

  it.each(['fast', '-5', '1.5', '10001', '0x10'])('refuses %s, naming the variable and the fix', (value) => {
    expect(() => busyPollBudgetUs({ PXE_HIL_TFTP_BUSY_POLL_US: value }, 2)).toThrow(UsageError);
    expect(() => busyPollBudgetUs({ PXE_HIL_TFTP_BUSY_POLL_US: value }, 2)).toThrow(
      /PXE_HIL_TFTP_BUSY_POLL_US=.* is not a number of microseconds from 0 to 10000; unset it .* or set 0/,
    );
  });
});

describe('BusyPoll', () => {
  it('keeps the loop turning until the budget has passed, then lets it sleep', async () => {
    const poll = new BusyPoll(20);
    let turnsSeen = 0;
    // An immediate queued behind the poll's own runs only if the loop keeps turning.
    const count = () => {
      turnsSeen++;
      if (turnsSeen < 3) setImmediate(count);
    };
    poll.hold();
    expect(poll.polling).toBe(true);
    setImmediate(count);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(turnsSeen).toBe(3);
    expect(poll.polling).toBe(false);
    expect(poll.holds).toBe(1);
  });

  it('does nothing with a budget of 0', () => {
    const poll = new BusyPoll(0);
    poll.hold();
    expect(poll.polling).toBe(false);
    expect(poll.holds).toBe(0);
  });
});
