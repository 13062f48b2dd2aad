/**
 * Power: an IPMI power cycle confirmed by status, through pxe-hil's IPMI
 * driver as shipped (cipher suites [17, 3], the target schema's default: it
 * tries 17, then 3, and keeps the one that works), against the same sequence
 * of ipmitool calls (off, status until off, on, status until on) typed two
 * ways: left to ipmitool's own cipher-suite discovery on every call (what a
 * script without -C pays), and with `-C 3`, the suite ipmi_sim speaks (the
 * least a cycle through ipmitool costs: the driver's own overhead shows
 * against it). All against OpenIPMI's ipmi_sim on 127.0.0.1 started here and
 * stopped by pid. The three take turns at going first, ROUNDS rounds; each
 * figure is the median, the ratio per round.
 *
 * Tested against: ipmitool 1.8.19, ipmi_sim 2.0.33 (Debian 12).
 */
import { execa } from 'execa';
import { IPMI_CIPHER_SUITES } from '../harness/config/target.js';
import { IpmiPower } from '../harness/power/ipmi.js';
import { IpmiSim } from '../test/support/ipmi-sim.js';
import type { FigureLabels } from './figures.js';

const USER = 'bench';
const PASSWORD_ENV = 'PXE_HIL_BENCH_BMC_PASSWORD';

const ROUNDS = 3;
/** Both rows' figure: the driver's cycle, against each way of typing ipmitool. */
const SHIPPED_CYCLE = 'IPMI power cycle, driver as shipped (suites [17, 3])';

export type IpmiCycleFigures = {
  cycleS: number[];
  baselineCycleS: number[];
  cycleVsPinnedS: number[];
  baselineCycleVsPinnedS: number[];
  labels: FigureLabels;
};

export async function measureIpmiCycle(rounds = ROUNDS): Promise<IpmiCycleFigures> {
  const password = `bench-${process.pid}-secret`;
  const sim = await IpmiSim.start(USER, password);
  try {
    const driver = new IpmiPower(
      {
        driver: 'ipmi',
        host: '127.0.0.1',
        port: sim.port,
        username: USER,
        passwordEnv: PASSWORD_ENV,
        cipherSuites: [...IPMI_CIPHER_SUITES],
        bootdev: { persistent: false, efi: false },
        requestTimeoutS: 2,
        requestRetries: 2,
        attempts: 3,
        retryBackoffMs: 1000,
        confirmTimeoutS: 60,
        offTimeS: 0,
      },
      { env: { [PASSWORD_ENV]: password }, pollIntervalMs: 50 },
    );
    await driver.on();
    const timed = async (what: () => Promise<unknown>) => {
      const started = performance.now();
      await what();
      return (performance.now() - started) / 1000;
    };

    // The same cycle by hand: each ipmitool call without -C (ipmitool discovers the cipher suite every
    // time), or naming the suite ipmi_sim speaks.
    const byHand = (cipherSuite: string[]) => {
      const ipmitool = (...args: string[]) =>
        execa(
          'ipmitool',
          ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(sim.port), '-U', USER, '-E', ...cipherSuite, ...args],
          { env: { IPMI_PASSWORD: password }, timeout: 120_000 },
        );
      const waitFor = async (state: 'on' | 'off') => {
        while (!(await ipmitool('chassis', 'power', 'status')).stdout.includes(`is ${state}`));
      };
      return async () => {
        await ipmitool('chassis', 'power', 'off');
        await waitFor('off');
        await ipmitool('chassis', 'power', 'on');
        await waitFor('on');
      };
    };
    const contenders = [
      { run: () => driver.cycle(), times: [] as number[] },
      { run: byHand([]), times: [] as number[] },
      { run: byHand(['-C', '3']), times: [] as number[] },
    ];
    for (let round = 0; round < rounds; round++) {
      // Each round another one goes first.
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(round + i) % contenders.length]!;
        contender.times.push(await timed(contender.run));
      }
    }
    const [shipped, discovering, pinned] = contenders.map((c) => c.times) as [number[], number[], number[]];
    return {
      cycleS: shipped,
      baselineCycleS: discovering,
      cycleVsPinnedS: shipped,
      baselineCycleVsPinnedS: pinned,
      labels: {
        cycleS: { figure: SHIPPED_CYCLE, baseline: 'ipmitool, no -C' },
        cycleVsPinnedS: { figure: SHIPPED_CYCLE, baseline: 'ipmitool -C 3' },
      },
    };
  } finally {
    await sim.stop();
  }
}
