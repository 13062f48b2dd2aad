/**
 * The pdudaemon driver against Debian's pdudaemon, started here on 127.0.0.1
 * with its localcmdline driver, whose commands record each outlet action in a
 * file; stopped by pid afterwards.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../harness/core/deadline.js';
import { LabFault, UsageError } from '../../harness/core/errors.js';
import type { Child } from '../../harness/core/process.js';
import { PdudaemonPower, type PdudaemonPowerConfig } from '../../harness/power/pdudaemon.js';
import { startPdudaemon } from '../support/pdudaemon.js';
import { freeTcpPort } from '../support/ports.js';

let dir: string;
let daemon: Child;
let port: number;
const PDU = 'hil-test-pdu';

const config = (overrides: Partial<PdudaemonPowerConfig> = {}): PdudaemonPowerConfig => ({
  driver: 'pdudaemon',
  url: `http://127.0.0.1:${port}`,
  pdu: PDU,
  outlet: 3,
  offTimeS: 1,
  requestTimeoutS: 5,
  ...overrides,
});

const actions = () =>
  existsSync(join(dir, 'actions')) ? readFileSync(join(dir, 'actions'), 'utf8').trim().split('\n') : [];

async function waitForActions(count: number): Promise<string[]> {
  return Deadline.in(15_000, `pdudaemon to run ${count} outlet actions`).poll(
    () => (actions().length >= count ? actions() : undefined),
    100,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hil-pdudaemon-'));
  ({ child: daemon, port } = await startPdudaemon(dir, PDU, join(dir, 'actions')));
}, 60_000);

afterAll(async () => {
  const pid = daemon?.pid;
  await daemon?.stop(2000);
  if (pid) expect(() => process.kill(pid, 0)).toThrow();
  rmSync(dir, { recursive: true, force: true });
});

describe('pdudaemon power driver', () => {
  it("builds the request of pdudaemon's HTTP API", () => {
    expect(PdudaemonPower.requestUrl(config({ url: 'http://pdu-server:16421' }), 'reboot', 5)).toBe(
      'http://pdu-server:16421/power/control/reboot?hostname=hil-test-pdu&port=3&delay=5',
    );
    expect(PdudaemonPower.requestUrl(config({ url: 'http://pdu-server:16421/', pdu: 'rack 2&x' }), 'on')).toBe(
      'http://pdu-server:16421/power/control/on?hostname=rack+2%26x&port=3',
    );
  });

  it("switches the outlet on and off, and cycles it with the off-time as pdudaemon's delay", async () => {
    const driver = new PdudaemonPower(config());
    expect(driver.description).toBe('pdudaemon hil-test-pdu outlet 3');
    await driver.on();
    expect(await waitForActions(1)).toEqual(['on 3']);
    await driver.off();
    expect(await waitForActions(2)).toEqual(['on 3', 'off 3']);
    await driver.cycle();
    expect(await waitForActions(4)).toEqual(['on 3', 'off 3', 'off 3', 'on 3']);
  }, 60_000);

  it('is a lab fault when pdudaemon does not know the PDU', async () => {
    const error = await new PdudaemonPower(config({ pdu: 'no-such-pdu' })).on().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabFault);
    expect((error as Error).message).toMatch(
      /^pdudaemon at http:\/\/127\.0\.0\.1:\d+ refused 'on' for no-such-pdu outlet 3 \(HTTP 500: Invalid request\)/,
    );
  });

  it('is a lab fault when nothing answers', async () => {
    const closed = await freeTcpPort();
    const error = await new PdudaemonPower(config({ url: `http://127.0.0.1:${closed}`, requestTimeoutS: 2 }))
      .off()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabFault);
    expect((error as Error).message).toMatch(
      new RegExp(`^pdudaemon at http://127\\.0\\.0\\.1:${closed} did not answer 'off' for hil-test-pdu outlet 3`),
    );
  });

  it('says that it cannot report the outlet state', async () => {
    await expect(new PdudaemonPower(config()).status()).rejects.toBeInstanceOf(UsageError);
  });
});
