import { describe, expect, it } from 'vitest';
import { bootdevArgs, classifyIpmitoolFailure, parsePowerStatus } from '../../harness/power/ipmi.js';

describe('ipmitool output', () => {
  it('reads the power state from chassis power status', () => {
    expect(parsePowerStatus('Chassis Power is on')).toBe('on');
    expect(parsePowerStatus('Chassis Power is off\n')).toBe('off');
    expect(parsePowerStatus('Set Boot Device to pxe')).toBeUndefined();
  });

  it('tells a wrong password, a refused cipher suite, a silent BMC and a failed command apart', () => {
    expect(
      classifyIpmitoolFailure('> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session', false),
    ).toBe('auth');
    expect(
      classifyIpmitoolFailure(
        'RAKP 2 message indicates an error : unauthorized name\nError: Unable to establish IPMI v2 / RMCP+ session',
        false,
      ),
    ).toBe('auth');
    expect(
      classifyIpmitoolFailure(
        'Error in open session response message : invalid authentication algorithm\n\nError: Unable to establish IPMI v2 / RMCP+ session',
        false,
      ),
    ).toBe('cipher');
    expect(
      classifyIpmitoolFailure(
        'Get Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request\nError: Unable to establish IPMI v2 / RMCP+ session',
        false,
      ),
    ).toBe('no-answer');
    expect(classifyIpmitoolFailure('', true)).toBe('no-answer');
    expect(
      classifyIpmitoolFailure(
        'Set Chassis Power Control to Cycle failed: Command not supported in present state',
        false,
      ),
    ).toBe('command');
  });
});

describe('bootdevArgs', () => {
  it('asks for PXE on the next boot only, legacy, by default', () => {
    expect(bootdevArgs({ persistent: false, efi: false })).toEqual(['chassis', 'bootdev', 'pxe']);
  });
  it('adds persistent and efiboot as ipmitool options', () => {
    expect(bootdevArgs({ persistent: true, efi: false })).toEqual(['chassis', 'bootdev', 'pxe', 'options=persistent']);
    expect(bootdevArgs({ persistent: false, efi: true })).toEqual(['chassis', 'bootdev', 'pxe', 'options=efiboot']);
    expect(bootdevArgs({ persistent: true, efi: true })).toEqual([
      'chassis',
      'bootdev',
      'pxe',
      'options=persistent,efiboot',
    ]);
  });
});
