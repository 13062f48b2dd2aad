/**
 * Power: an IPMI power cycle confirmed by status, through pxe-hil's IPMI
 * driver (cipher suite named: -C 3), against the same sequence of ipmitool
 * calls (off, status until off, on, status until on) left to ipmitool's
 * default cipher-suite discovery, both against OpenIPMI's ipmi_sim on
 * 127.0.0.1 started here and stopped by pid.
 *
 * Tested against: ipmitool 1.8.19, ipmi_sim 2.0.33 (Debian 12).
 */
import { execa } from 'execa';
import { IpmiPower } from '../harness/power/ipmi.js';
import { IpmiSim } from '../test/support/ipmi-sim.js';

const USER = 'bench';
const PASSWORD_ENV = 'PXE_HIL_BENCH_BMC_PASSWORD';

export async function measureIpmiCycle(): Promise<{ cycleS: number; baselineCycleS: number }> {
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
        cipherSuites: [3],
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
    let started = performance.now();
    await driver.cycle();
    const cycleS = (performance.now() - started) / 1000;

    // The same cycle by hand, each ipmitool call without -C: ipmitool discovers the cipher suite every time.
    const ipmitool = (...args: string[]) =>
      execa('ipmitool', ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(sim.port), '-U', USER, '-E', ...args], {
        env: { IPMI_PASSWORD: password },
        timeout: 120_000,
      });
    const waitFor = async (state: 'on' | 'off') => {
      while (!(await ipmitool('chassis', 'power', 'status')).stdout.includes(`is ${state}`));
    };
    started = performance.now();
    await ipmitool('chassis', 'power', 'off');
    await waitFor('off');
    await ipmitool('chassis', 'power', 'on');
    await waitFor('on');
    const baselineCycleS = (performance.now() - started) / 1000;
    return { cycleS, baselineCycleS };
  } finally {
    await sim.stop();
  }
}
