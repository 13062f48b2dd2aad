/**
 * Power driver for a board on a PDU that pdudaemon drives (the PDU daemon LAVA
 * labs run; it speaks to many PDU models): its HTTP request API,
 * GET /power/control/<on|off|reboot>?hostname=<pdu>&port=<outlet>[&delay=<s>].
 *
 * pdudaemon answers "OK - accepted request" and switches the outlet a moment
 * later, from its own queue; it has no way to report an outlet's state. So an
 * action here is confirmed as far as pdudaemon can confirm it (the request was
 * accepted: HTTP 200), a refusal (HTTP 500, "Invalid request": no such PDU in
 * its configuration) or no answer is a lab fault, and the driver has no
 * `status` (`withoutStatus` says so): a target that needs a read-back should
 * use the snmp-pdu driver.
 *
 * Tested against: pdudaemon 0.0.8 (Debian 12) with its localcmdline driver.
 * Reference: pdudaemon README, "HTTP listener" request format.
 */
import type { PdudaemonPowerConfig } from '../config/target.js';
import { Deadline } from '../core/deadline.js';
import { LabFault } from '../core/errors.js';
import type { PowerDriver } from './power.js';

export class PdudaemonPower implements PowerDriver {
  readonly withoutStatus =
    "pdudaemon has no request for an outlet's state; use the snmp-pdu driver where a read-back is needed";

  constructor(private readonly config: PdudaemonPowerConfig) {}

  get description(): string {
    return `pdudaemon ${this.config.pdu} outlet ${this.config.outlet}`;
  }

  on(): Promise<void> {
    return this.request('on');
  }

  off(): Promise<void> {
    return this.request('off');
  }

  /** pdudaemon's own cycle: off, the off-time as its delay, on. */
  cycle(): Promise<void> {
    return this.request('reboot', this.config.offTimeS);
  }

  /** The request URL for an action (pure; exported for tests). */
  static requestUrl(config: PdudaemonPowerConfig, action: 'on' | 'off' | 'reboot', delayS?: number): string {
    const url = new URL(`/power/control/${action}`, config.url);
    url.searchParams.set('hostname', config.pdu);
    url.searchParams.set('port', String(config.outlet));
    if (delayS !== undefined) url.searchParams.set('delay', String(delayS));
    return url.href;
  }

  private async request(action: 'on' | 'off' | 'reboot', delayS?: number): Promise<void> {
    const url = PdudaemonPower.requestUrl(this.config, action, delayS);
    const deadline = Deadline.in(
      this.config.requestTimeoutS * 1000,
      `pdudaemon at ${this.config.url} to accept '${action}'`,
    );
    let response: Response;
    try {
      response = await deadline.race(fetch(url, { signal: AbortSignal.timeout(this.config.requestTimeoutS * 1000) }));
    } catch (error) {
      throw new LabFault(
        `pdudaemon at ${this.config.url} did not answer '${action}' for ${this.config.pdu} outlet ${this.config.outlet}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const body = (await response.text()).trim();
    if (response.status !== 200 || !/accepted/i.test(body)) {
      throw new LabFault(
        `pdudaemon at ${this.config.url} refused '${action}' for ${this.config.pdu} outlet ${this.config.outlet} (HTTP ${response.status}: ${body.slice(0, 120) || 'no body'}); check the PDU name in pdudaemon's configuration`,
      );
    }
  }
}
