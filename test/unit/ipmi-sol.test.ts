/**
 * The pure parts of the SOL console: escaping writes for ipmitool, taking its
 * banner out of the stream, and which BMC a console without its own fields
 * uses. The real session is in test/system/ipmi-sol.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { validateTarget } from '../../harness/config/load-target.js';
import { SolBannerFilter, SolInputEscaper, ipmitoolSessionArgs } from '../../harness/console/ipmi-sol.js';
import { secretsOf } from '../../harness/cli/target-doctor.js';
import { createConsole } from '../../harness/console/create-console.js';
import { UsageError } from '../../harness/core/errors.js';

describe('SolInputEscaper', () => {
  it('doubles the escape character at the start of the session and of each line, nowhere else', () => {
    const escaper = new SolInputEscaper();
    expect(escaper.escapeBytes(Buffer.from('~.')).toString()).toBe('~~.');
    expect(escaper.escapeBytes(Buffer.from('a~b\r~c\n~~')).toString()).toBe('a~b\r~~c\n~~~');
  });

  it('keeps the line state from one write to the next', () => {
    const escaper = new SolInputEscaper();
    expect(escaper.escapeBytes(Buffer.from('ls\r')).toString()).toBe('ls\r');
    expect(escaper.escapeBytes(Buffer.from('~B')).toString()).toBe('~~B');
    expect(escaper.escapeBytes(Buffer.from('~')).toString()).toBe('~');
  });
});

describe('SolBannerFilter', () => {
  function run(chunks: string[]): { data: string; operational: number } {
    let data = '';
    let operational = 0;
    const filter = new SolBannerFilter(
      () => operational++,
      (chunk) => (data += chunk.toString()),
    );
    for (const chunk of chunks) filter.push(Buffer.from(chunk));
    return { data, operational };
  }

  it('takes the banner out, even when it comes in pieces with board output behind it', () => {
    expect(run(['[SOL Session oper', 'ational.  Use ~? for help]\nlogin: ', 'root'])).toEqual({
      data: 'login: root',
      operational: 1,
    });
  });

  it('waits while what came could still be the banner', () => {
    expect(run(['[SOL Session'])).toEqual({ data: '', operational: 0 });
  });

  it('passes on what is not the banner, and a banner later in the stream is board output', () => {
    expect(run(['[ok] boot\n', '[SOL Session operational.  Use ~? for help]\n'])).toEqual({
      data: '[ok] boot\n[SOL Session operational.  Use ~? for help]\n',
      operational: 1,
    });
  });
});

describe('ipmi-sol console settings', () => {
  const ipmiPower = {
    driver: 'ipmi',
    host: 'bmc-1.lab',
    port: 6230,
    username: 'admin',
    passwordEnv: 'BOARD1_BMC_PASSWORD',
    cipherSuites: [3, 17],
  };
  const target = (power: object, console: object) => ({
    name: 'board-1',
    image: 'busybox',
    power,
    console,
    network: { kind: 'qemu-tap', mac: '52:54:00:ab:00:01' },
  });

  it("shares the IPMI power driver's BMC when the console names none", () => {
    const loaded = validateTarget(target(ipmiPower, { kind: 'ipmi-sol' }), 'targets/board-1.ts');
    expect(loaded.console).toEqual({
      kind: 'ipmi-sol',
      host: 'bmc-1.lab',
      port: 6230,
      username: 'admin',
      passwordEnv: 'BOARD1_BMC_PASSWORD',
      cipherSuite: 3,
      kernelConsole: 'ttyS0,115200',
    });
  });

  it('keeps its own BMC fields, with port 623 when it names its own host', () => {
    const loaded = validateTarget(
      target(ipmiPower, { kind: 'ipmi-sol', host: 'bmc-2.lab', passwordEnv: 'SOL_PASSWORD', cipherSuite: 17 }),
      'targets/board-1.ts',
    );
    expect(loaded.console).toEqual({
      kind: 'ipmi-sol',
      host: 'bmc-2.lab',
      port: 623,
      username: 'admin',
      passwordEnv: 'SOL_PASSWORD',
      cipherSuite: 17,
      kernelConsole: 'ttyS0,115200',
    });
  });

  it('names the missing fields when the power driver has no BMC', () => {
    let caught: unknown;
    try {
      validateTarget(target({ driver: 'qemu' }, { kind: 'ipmi-sol', host: 'bmc-1.lab' }), 'targets/board-1.ts');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).message).toBe(
      "targets/board-1.ts: field 'console': console 'ipmi-sol' needs username, passwordEnv: set them in the console, or use the 'ipmi' power driver whose BMC it then shares",
    );
  });

  it('passes the password only by environment (-E)', () => {
    expect(
      ipmitoolSessionArgs({ host: 'bmc-1.lab', port: 623, username: 'admin', passwordEnv: 'X_PW', cipherSuite: 3 }),
    ).toEqual(['-I', 'lanplus', '-H', 'bmc-1.lab', '-p', '623', '-U', 'admin', '-E', '-C', '3']);
  });
});

describe('secrets a target names', () => {
  const board = (power: object, console: object) =>
    validateTarget(
      { name: 'board-1', image: 'busybox', power, console, network: { kind: 'qemu-tap', mac: '52:54:00:ab:00:01' } },
      'targets/board-1.ts',
    );

  it('lists the BMC password once when power and SOL share the BMC, and each SNMPv3 key', () => {
    expect(
      secretsOf(
        board({ driver: 'ipmi', host: 'bmc-1', username: 'admin', passwordEnv: 'BMC_PW' }, { kind: 'ipmi-sol' }),
      ),
    ).toEqual([{ name: 'BMC_PW', what: 'the BMC password for bmc-1' }]);
    expect(
      secretsOf(
        board(
          {
            driver: 'snmp-pdu',
            host: 'pdu-1',
            profile: 'apc-rpdu',
            outlet: 2,
            auth: { version: '3', user: 'hil', authKeyEnv: 'PDU_AUTH', privKeyEnv: 'PDU_PRIV' },
          },
          { kind: 'ipmi-sol', host: 'bmc-2', username: 'admin', passwordEnv: 'SOL_PW' },
        ),
      ),
    ).toEqual([
      { name: 'PDU_AUTH', what: 'the SNMPv3 authentication key of PDU pdu-1' },
      { name: 'PDU_PRIV', what: 'the SNMPv3 privacy key of PDU pdu-1' },
      { name: 'SOL_PW', what: 'the BMC password for bmc-2 (SOL console)' },
    ]);
  });

  it('makes no SOL console from settings that name no BMC', () => {
    expect(() => createConsole({ kind: 'ipmi-sol', kernelConsole: 'ttyS0,115200' }, {})).toThrow(UsageError);
  });
});
