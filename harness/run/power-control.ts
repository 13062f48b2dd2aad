/**
 * A running job's power, offered to its suites: the job serves a unix socket
 * (power.sock in its work directory, named in job.json) that takes one JSON
 * request a line, {"action":"on"|"off"|"cycle"|"status"}, and answers one
 * JSON line, {"ok":true,"state":"on"} or {"ok":false,"error":"..."}. A driver
 * that cannot read the power back (pdudaemon) answers an action with
 * {"ok":true} and no state, and `status` with the error saying so. The job
 * stays the only one that drives the power: actions run through its driver,
 * one at a time, and are reported as its step events.
 */
import { rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { Deadline } from '../core/deadline.js';
import type { EventBus } from '../core/events.js';
import { listenPrivate } from '../core/private-dir.js';
import { type PowerDriver, type PowerState, readPowerState } from '../power/power.js';
import { powerStep } from './power-step.js';

export type PowerRequest = { action: 'on' | 'off' | 'cycle' | 'status' };
/** `state` is the power read back; absent where the driver cannot read it. */
export type PowerReply = { ok: true; state?: PowerState } | { ok: false; error: string };

const ACTIONS = new Set(['on', 'off', 'cycle', 'status']);

export async function servePowerControl(
  bus: EventBus,
  driver: PowerDriver,
  socketPath: string,
): Promise<{ close(): Promise<void> }> {
  await rm(socketPath, { force: true });
  let queue: Promise<unknown> = Promise.resolve();
  const handle = async (line: string): Promise<PowerReply> => {
    let request: PowerRequest;
    try {
      request = JSON.parse(line) as PowerRequest;
    } catch {
      return { ok: false, error: 'not JSON: send {"action":"on|off|cycle|status"}' };
    }
    // null, an array, a string or a number parse as JSON too, and are no request.
    if (typeof request !== 'object' || request === null || Array.isArray(request))
      return { ok: false, error: 'not a request: send {"action":"on|off|cycle|status"}' };
    if (!ACTIONS.has(request.action))
      return { ok: false, error: `unknown action '${String(request.action)}': on, off, cycle or status` };
    try {
      if (request.action === 'status') return { ok: true, state: await readPowerState(driver) };
      await powerStep(bus, driver, request.action);
      return driver.status ? { ok: true, state: await driver.status() } : { ok: true };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  };
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    const lines = createInterface({ input: socket });
    lines.on('error', () => {});
    lines.on('line', (line) => {
      const reply = queue.then(() => handle(line));
      queue = reply.catch(() => {});
      const answer = (message: PowerReply) => socket.writable && socket.write(`${JSON.stringify(message)}\n`);
      void reply.then(answer, (error: unknown) => answer({ ok: false, error: String(error) }));
    });
  });
  await listenPrivate(server, socketPath);
  return {
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}

/**
 * Asks a job's power control for an action; answers the power read back after it (undefined where the job's
 * driver cannot read it), and throws with the job's reason when it fails.
 */
export async function requestPower(
  socketPath: string,
  action: PowerRequest['action'],
  timeoutMs = 120_000,
): Promise<PowerState | undefined> {
  const socket = connect(socketPath);
  const answered = new Promise<PowerReply>((resolve, reject) => {
    socket.on('error', reject);
    // readline passes the socket's errors on: they are this request's failure too.
    const lines = createInterface({ input: socket });
    lines.on('error', reject);
    lines.once('line', (line) => resolve(JSON.parse(line) as PowerReply));
    socket.once('connect', () => socket.write(`${JSON.stringify({ action })}\n`));
  });
  try {
    const reply = await Deadline.in(timeoutMs, `the job's power ${action}`).race(answered);
    if (!reply.ok) throw new Error(`power ${action} failed: ${reply.error}`);
    return reply.state;
  } finally {
    socket.destroy();
  }
}
