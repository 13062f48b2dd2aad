/**
 * The pdudaemon driver against Debian's pdudaemon, started here on 127.0.0.1
 * with its localcmdline driver, whose commands record each outlet action in a
 * file; stopped by pid afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PdudaemonPowerConfig } from '../../harness/config/target.js';
import { LabFault } from '../../harness/core/errors.js';
import type { Child } from '../../harness/core/process.js';
import { PdudaemonPower } from '../../harness/power/pdudaemon.js';
import { startPdudaemon } from '../support/pdudaemon.js';

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

// On, off, cycle, the absent status and no answer are the contract of every driver: test/system/power-contract.test.ts.
describe('pdudaemon power driver', () => {
  it("builds the request of pdudaemon's HTTP API", () => {
    expect(PdudaemonPower.requestUrl(config({ url: 'http://pdu-server:16421' }), 'reboot', 5)).toBe(
      'http://pdu-server:16421/power/control/reboot?hostname=hil-test-pdu&port=3&delay=5',
    );
    expect(PdudaemonPower.requestUrl(config({ url: 'http://pdu-server:16421/', pdu: 'rack 2&x' }), 'on')).toBe(
      'http://pdu-server:16421/power/control/on?hostname=rack+2%26x&port=3',
    );
  });

  it('is a lab fault when pdudaemon does not know the PDU', async () => {
    const error = await new PdudaemonPower(config({ pdu: 'no-such-pdu' })).on().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabFault);
    expect((error as Error).message).toMatch(
      /^pdudaemon at http:\/\/127\.0\.0\.1:\d+ refused 'on' for no-such-pdu outlet 3 \(HTTP 500: Invalid request\)/,
    );
  });
});
