import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../harness/core/events.js';
import { clearSecrets, registerSecret } from '../../harness/core/redact.js';
import { attachLiveView, statusLine, wantsLiveView } from '../../harness/report/live-status.js';

const tty = (isTTY: boolean, columns = 80) => {
  const written: string[] = [];
  return {
    stream: { isTTY, columns, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream,
    written,
  };
};

describe('live view', () => {
  it('is used only on an interactive terminal outside CI', () => {
    expect(wantsLiveView(tty(true).stream, {})).toBe(true);
    expect(wantsLiveView(tty(false).stream, {})).toBe(false);
    expect(wantsLiveView(tty(true).stream, { CI: 'true' })).toBe(false);
    expect(wantsLiveView(tty(true).stream, { JENKINS_URL: 'http://ci/' })).toBe(false);
    expect(wantsLiveView(tty(true).stream, { TERM: 'dumb' })).toBe(false);
  });

  it('shows the stage, progress and how long the run has waited', () => {
    expect(
      statusLine({ stage: 'boot', waitingFor: "reached 'DHCP lease'", since: 2000, milestones: 1, total: 6 }, 5500),
    ).toBe("     5.5 s  boot [1/6]: reached 'DHCP lease' (3.5 s)");
  });

  it('prints event lines above the status line and leaves none after the result', () => {
    const bus = new EventBus();
    const { stream, written } = tty(true);
    attachLiveView(bus, stream);
    bus.emit({ type: 'stage', stage: 'boot', state: 'start', detail: 'waiting for 6 milestones' });
    bus.emit({ type: 'milestone', name: 'DHCP lease', durationMs: 10 });
    bus.emit({ type: 'run-end', outcome: 'passed', exitCode: 0 });
    const output = written.join('');
    expect(output).toMatch(/boot\s+waiting for 6 milestones\n/);
    expect(output).toMatch(/milestone DHCP lease \(\+10 ms\)\n/);
    expect(output).toContain("boot [1/6]: reached 'DHCP lease'");
    // The status line is wiped before the last line, and not drawn again after it.
    expect(output).toMatch(/\r\x1b\[2K\[\s*[\d.]+\] result\s+PASSED \(exit 0\)\n$/);
  });

  it('masks registered secrets in the event lines and in the status line', () => {
    registerSecret('live-secret-77');
    const bus = new EventBus();
    const { stream, written } = tty(true, 200);
    const stop = attachLiveView(bus, stream);
    bus.emit({ type: 'stage', stage: 'power', state: 'start', detail: 'relay live-secret-77 switching' });
    bus.emit({ type: 'warning', message: 'token live-secret-77 refused' });
    stop();
    const output = written.join('');
    expect(output).not.toContain('live-secret-77');
    expect(output).toMatch(/power\s+relay \*\*\* switching\n/);
    expect(output).toMatch(/warning\s+token \*\*\* refused\n/);
    expect(output).toContain('power: relay *** switching (');
  });
});

afterEach(() => clearSecrets());
