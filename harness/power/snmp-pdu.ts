/**
 * Power driver for a board on a switched PDU outlet, over SNMP (the npm
 * net-snmp package): a SET of the outlet's control object, then GETs of its
 * state until it reads back the state asked for; a PDU that accepts the
 * command but does not switch is a lab fault. A cycle is off (confirmed), the
 * target's off-time, then on (confirmed).
 *
 * The object identifiers of each PDU family are data (`pduProfiles`): another
 * vendor is one more entry, and its name in the target schema's `profile`.
 * SNMP v2c takes its community, v3 its keys, from environment variables the
 * target names; they never reach a message.
 *
 * Tested against: net-snmp's snmpd 5.9.3 (Debian 12) with a `pass` handler
 * serving the APC objects below, SNMP v2c.
 * Reference: APC PowerNet MIB (PowerNet-MIB): rPDUOutletControlOutletCommand
 * 1.3.6.1.4.1.318.1.1.12.3.3.1.1.4 (1 immediateOn, 2 immediateOff,
 * 3 immediateReboot), rPDUOutletStatusOutletState 1.3.6.1.4.1.318.1.1.12.3.5.1.1.4
 * (1 outletStatusOn, 2 outletStatusOff), sPDUOutletCtl 1.3.6.1.4.1.318.1.1.4.4.2.1.3
 * (1 outletOn, 2 outletOff, 3 outletReboot; reads 1 on, 2 off); RFC 3416 (SNMP PDUs).
 */
import type snmp from 'net-snmp';
import type { SnmpPduPowerConfig } from '../config/target.js';
import { Deadline } from '../core/deadline.js';
import { LabFault, UsageError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { PowerDriver, PowerState } from './power.js';
import { confirmState, cycleByOffOn } from './power-steps.js';

/** net-snmp loads with the first request, not with every run. */
const loadSnmp = async (): Promise<typeof snmp> => (await import('net-snmp')).default;

export type PduProfile = {
  /** Written with a command value; the outlet number is appended. */
  controlOid: string;
  /** Read for the outlet's state; the outlet number is appended. */
  stateOid: string;
  commands: { on: number; off: number; reboot: number };
  states: Record<number, PowerState>;
};

export const pduProfiles = {
  /** APC rack PDUs (AP7900, AP8xxx): rPDUOutletControl and rPDUOutletStatus. */
  'apc-rpdu': {
    controlOid: '1.3.6.1.4.1.318.1.1.12.3.3.1.1.4',
    stateOid: '1.3.6.1.4.1.318.1.1.12.3.5.1.1.4',
    commands: { on: 1, off: 2, reboot: 3 },
    states: { 1: 'on', 2: 'off' },
  },
  /** Older APC MasterSwitch units (AP9211, AP9212): sPDUOutletCtl reads and writes the outlet. */
  'apc-spdu': {
    controlOid: '1.3.6.1.4.1.318.1.1.4.4.2.1.3',
    stateOid: '1.3.6.1.4.1.318.1.1.4.4.2.1.3',
    commands: { on: 1, off: 2, reboot: 3 },
    states: { 1: 'on', 2: 'off' },
  },
} as const satisfies Record<SnmpPduPowerConfig['profile'], PduProfile>;

type Secrets = { community?: string; authKey?: string; privKey?: string };

export class SnmpPduPower implements PowerDriver {
  private readonly secrets: Secrets;
  private readonly profile: PduProfile;

  constructor(
    private readonly config: SnmpPduPowerConfig,
    private readonly options: { bus?: EventBus; env?: NodeJS.ProcessEnv; pollIntervalMs?: number } = {},
  ) {
    const env = options.env ?? process.env;
    const need = (name: string, what: string): string => {
      const value = env[name];
      if (!value)
        throw new UsageError(
          `environment variable ${name} is not set: it must hold the ${what} for PDU ${config.host}`,
        );
      return value;
    };
    const auth = config.auth;
    this.secrets =
      auth.version === '2c'
        ? { community: need(auth.communityEnv, 'SNMP community') }
        : {
            authKey: need(auth.authKeyEnv, 'SNMPv3 authentication key'),
            privKey: auth.privProtocol === 'none' ? undefined : need(auth.privKeyEnv ?? '', 'SNMPv3 privacy key'),
          };
    this.profile = pduProfiles[config.profile];
  }

  get description(): string {
    return `snmp-pdu ${this.config.host} outlet ${this.config.outlet}`;
  }

  async on(): Promise<void> {
    await this.command('on');
  }

  async off(): Promise<void> {
    await this.command('off');
  }

  cycle(): Promise<void> {
    return cycleByOffOn(this, this.config.offTimeS);
  }

  async status(): Promise<PowerState> {
    const oid = `${this.profile.stateOid}.${this.config.outlet}`;
    const value = await this.request('get', oid);
    const state = this.profile.states[Number(value)];
    if (!state)
      throw new LabFault(
        `PDU ${this.config.host} outlet ${this.config.outlet} reports state ${String(value)}, neither on nor off`,
      );
    return state;
  }

  private async command(wanted: PowerState): Promise<void> {
    const { host, outlet, confirmTimeoutS } = this.config;
    await this.request('set', `${this.profile.controlOid}.${outlet}`, this.profile.commands[wanted]);
    await confirmState(
      () => this.status(),
      wanted,
      Deadline.in(confirmTimeoutS * 1000, `${this.description} to read back ${wanted}`),
      {
        intervalMs: this.options.pollIntervalMs ?? 500,
        notConfirmed: (last) =>
          `PDU ${host} outlet ${outlet} did not switch ${wanted}: it still reads ${last ?? 'unknown'} ${confirmTimeoutS} s after the command`,
      },
    );
  }

  private async request(kind: 'get' | 'set', oid: string, value?: number): Promise<unknown> {
    const { host, outlet } = this.config;
    const started = performance.now();
    let answered = false;
    const net = await loadSnmp();
    const session = this.openSession(net);
    const budgetMs = this.config.requestTimeoutS * 1000 * (this.config.retries + 1) + 2000;
    try {
      const varbinds = await Deadline.in(budgetMs, `PDU ${host} to answer SNMP ${kind}`).race(
        new Promise<snmp.Varbind[]>((resolve, reject) => {
          const done = (error: Error | null, result?: snmp.Varbind[]) =>
            error ? reject(error) : resolve(result ?? []);
          if (kind === 'get') session.get([oid], done);
          else session.set([{ oid, type: net.ObjectType.Integer, value }], done);
        }),
      );
      answered = true;
      const varbind = varbinds[0];
      if (!varbind) throw new LabFault(`PDU ${host} sent an empty answer to SNMP ${kind} ${oid}`);
      if (net.isVarbindError(varbind))
        throw new LabFault(
          `PDU ${host} has no outlet ${outlet} (${net.varbindError(varbind).split(':')[0]} at ${oid})`,
        );
      return varbind.value;
    } catch (error) {
      if (error instanceof LabFault) throw error;
      const name = (error as Error).name;
      if (name === 'RequestTimedOutError' || name === 'TimeoutError') {
        throw new LabFault(
          `PDU ${host} did not answer SNMP ${kind} for outlet ${outlet}: not reachable, or it does not accept this community/user`,
          { cause: error },
        );
      }
      if (name === 'RequestFailedError') {
        throw new LabFault(`PDU ${host} refused SNMP ${kind} of outlet ${outlet}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw new LabFault(`PDU ${host}: SNMP ${kind} of outlet ${outlet} failed: ${(error as Error).message}`, {
        cause: error,
      });
    } finally {
      session.close();
      this.options.bus?.emit({
        type: 'command',
        command: `snmp ${kind} ${host}:${this.config.port} ${oid}${value === undefined ? '' : ` = ${value}`}`,
        exitCode: answered ? 0 : 1,
        durationMs: performance.now() - started,
      });
    }
  }

  private openSession(net: typeof snmp): snmp.Session {
    const common = {
      port: this.config.port,
      timeout: this.config.requestTimeoutS * 1000,
      retries: this.config.retries,
      transport: 'udp4' as const,
    };
    const auth = this.config.auth;
    let session: snmp.Session;
    if (auth.version === '2c') {
      session = net.createSession(this.config.host, this.secrets.community!, { ...common, version: net.Version2c });
    } else {
      const priv = auth.privProtocol === 'none' ? undefined : auth.privProtocol;
      session = net.createV3Session(
        this.config.host,
        {
          name: auth.user,
          level: priv ? net.SecurityLevel.authPriv : net.SecurityLevel.authNoPriv,
          authProtocol: net.AuthProtocols[auth.authProtocol],
          authKey: this.secrets.authKey,
          ...(priv ? { privProtocol: net.PrivProtocols[priv], privKey: this.secrets.privKey } : {}),
        },
        { ...common, version: 3 },
      );
    }
    session.on('error', () => {});
    return session;
  }
}
