/**
 * Power: an IPMI power cycle confirmed by status, through pxe-hil's IPMI
 * driver as shipped (cipher suites [17, 3], the target schema's default: it
 * tries 17, then 3, and keeps the one that works), against the same sequence
 * of ipmitool calls (off, status until off, on, status until on) left to
 * ipmitool's default cipher-suite discovery, both against OpenIPMI's ipmi_sim
 * on 127.0.0.1 started here and stopped by pid. The two take turns at going
 * first, ROUNDS rounds; each figure is the median, the ratio per round.
 *
 * Tested against: ipmitool 1.8.19, ipmi_sim 2.0.33 (Debian 12).
 */
import { execa } from 'execa';
import { IPMI_CIPHER_SUITES } from '../harness/config/target.js';
import { IpmiPower } from '../harness/power/ipmi.js';
import { IpmiSim } from '../test/support/ipmi-sim.js';

const USER = 'bench';
const PASSWORD_ENV = 'PXE_HIL_BENCH_BMC_PASSWORD';

const ROUNDS = 3;

export async function measureIpmiCycle(rounds = ROUNDS): Promise<{ cycleS: number[]; baselineCycleS: number[] }> {
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

    // The same cycle by hand, each ipmitool call without -C: ipmitool discovers the cipher suite every time.
    const ipmitool = (...args: string[]) =>
      execa('ipmitool', ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(sim.port), '-U', USER, '-E', ...args], {
        env: { IPMI_PASSWORD: password },
        timeout: 120_000,
      });
    const waitFor = async (state: 'on' | 'off') => {
      while (!(await ipmitool('chassis', 'power', 'status')).stdout.includes(`is ${state}`));
    };
    const byHand = async () => {
      await ipmitool('chassis', 'power', 'off');
      await waitFor('off');
      await ipmitool('chassis', 'power', 'on');
      await waitFor('on');
    };
    const cycleS: number[] = [];
    const baselineCycleS: number[] = [];
    for (let round = 0; round < rounds; round++) {
      if (round % 2 === 0) {
        cycleS.push(await timed(() => driver.cycle()));
        baselineCycleS.push(await timed(byHand));
      } else {
        baselineCycleS.push(await timed(byHand));
        cycleS.push(await timed(() => driver.cycle()));
      }
    }
    return { cycleS, baselineCycleS };
  } finally {
    await sim.stop();
  }
}
