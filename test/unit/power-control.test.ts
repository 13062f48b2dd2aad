import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus, type StepEvent } from '../../harness/core/events.js';
import type { PowerDriver, PowerState } from '../../harness/power/power.js';
import { requestPower, servePowerControl } from '../../harness/run/power-control.js';

/** A board whose power is a variable: the protocol's logic, not a driver's. */
class BoardInMemory implements PowerDriver {
  readonly description = 'memory';
  state: PowerState = 'on';
  actions: string[] = [];
  async on() {
    this.actions.push('on');
    this.state = 'on';
  }
  async off() {
    this.actions.push('off');
    this.state = 'off';
  }
  async cycle() {
    await this.off();
    await this.on();
  }
  async status() {
    return this.state;
  }
}

/** A board whose driver cannot read the power back, as pdudaemon's. */
class BoardWithoutStatus implements PowerDriver {
  readonly description = 'blind';
  readonly withoutStatus = 'it has no read-back';
  private readonly board = new BoardInMemory();
  get actions() {
    return this.board.actions;
  }
  on = () => this.board.on();
  off = () => this.board.off();
  cycle = () => this.board.cycle();
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'power-control-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function rawRequest(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('error', reject);
    createInterface({ input: socket }).once('line', (reply) => {
      socket.destroy();
      resolve(reply);
    });
    socket.write(`${line}\n`);
  });
}

describe('job power control', () => {
  it('runs actions through the job driver, reports them as step events, and answers the state', async () => {
    const bus = new EventBus();
    const seen: StepEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const board = new BoardInMemory();
    const control = await servePowerControl(bus, board, join(dir, 'power.sock'));
    try {
      expect(await requestPower(join(dir, 'power.sock'), 'status')).toBe('on');
      expect(await requestPower(join(dir, 'power.sock'), 'off')).toBe('off');
      expect(await requestPower(join(dir, 'power.sock'), 'cycle')).toBe('on');
      expect(board.actions).toEqual(['off', 'off', 'on']);
      expect(seen.filter((e) => e.type === 'power').map((e) => e.type === 'power' && [e.action, e.ok])).toEqual([
        ['off', true],
        ['cycle', true],
      ]);
    } finally {
      await control.close();
    }
  });

  it('answers an action without a state, and refuses status with the reason, where the driver cannot read the power', async () => {
    const bus = new EventBus();
    const seen: StepEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const board = new BoardWithoutStatus();
    const control = await servePowerControl(bus, board, join(dir, 'power.sock'));
    try {
      expect(JSON.parse(await rawRequest(join(dir, 'power.sock'), '{"action":"off"}'))).toEqual({ ok: true });
      expect(await requestPower(join(dir, 'power.sock'), 'cycle')).toBeUndefined();
      expect(board.actions).toEqual(['off', 'off', 'on']);
      expect(JSON.parse(await rawRequest(join(dir, 'power.sock'), '{"action":"status"}'))).toEqual({
        ok: false,
        error: "power driver 'blind' cannot report the power state: it has no read-back",
      });
      await expect(requestPower(join(dir, 'power.sock'), 'status')).rejects.toThrow(
        "power status failed: power driver 'blind' cannot report the power state: it has no read-back",
      );
      expect(seen.filter((e) => e.type === 'power').map((e) => e.type === 'power' && [e.action, e.ok])).toEqual([
        ['off', true],
        ['cycle', true],
      ]);
    } finally {
      await control.close();
    }
  });

  it('refuses what is not a request, with the reason', async () => {
    const control = await servePowerControl(new EventBus(), new BoardInMemory(), join(dir, 'power.sock'));
    try {
      expect(JSON.parse(await rawRequest(join(dir, 'power.sock'), 'cycle please'))).toEqual({
        ok: false,
        error: 'not JSON: send {"action":"on|off|cycle|status"}',
      });
      expect(JSON.parse(await rawRequest(join(dir, 'power.sock'), '{"action":"explode"}'))).toEqual({
        ok: false,
        error: "unknown action 'explode': on, off, cycle or status",
      });
      // JSON that is no object: answered, and the control keeps serving.
      for (const line of ['null', '[]', '"on"', '7'])
        expect(JSON.parse(await rawRequest(join(dir, 'power.sock'), line)), line).toEqual({
          ok: false,
          error: 'not a request: send {"action":"on|off|cycle|status"}',
        });
      expect(await requestPower(join(dir, 'power.sock'), 'status')).toBe('on');
      await expect(requestPower(join(dir, 'nothing.sock'), 'status')).rejects.toThrow(/ENOENT/);
    } finally {
      await control.close();
    }
  });
});
