import { describe, expect, it } from 'vitest';
import {
  pxelinuxConfigName,
  renderGrubConfig,
  renderIpxeScript,
  renderPxelinuxConfig,
} from '../../harness/pxe/boot-config.js';

const entry = { label: 'busybox', kernel: 'linux', initrd: 'initrd.gz', cmdline: 'console=ttyS0,115200 quiet' };

describe('renderIpxeScript', () => {
  it('fetches kernel and initrd from the base URL and boots', () => {
    expect(renderIpxeScript(entry, 'http://10.42.0.1:8080/j1')).toBe(
      [
        '#!ipxe',
        'echo pxe-hil: booting busybox',
        'kernel http://10.42.0.1:8080/j1/linux initrd=initrd.gz console=ttyS0,115200 quiet',
        'initrd http://10.42.0.1:8080/j1/initrd.gz',
        'boot',
        '',
      ].join('\n'),
    );
  });

  it('leaves out the initrd line without an initrd and trailing spaces without a cmdline', () => {
    expect(renderIpxeScript({ label: 'bare', kernel: 'vmlinuz', cmdline: '' }, 'http://10.42.0.1')).toBe(
      '#!ipxe\necho pxe-hil: booting bare\nkernel http://10.42.0.1/vmlinuz\nboot\n',
    );
  });
});

describe('renderIpxeScript with a BIOS chainload', () => {
  it('chains undionly.kpxe first on a BIOS iPXE that is not undionly itself, then boots', () => {
    expect(renderIpxeScript(entry, 'http://10.42.0.1', { biosChain: 'tftp://10.42.0.1/undionly.kpxe' })).toBe(
      [
        '#!ipxe',
        'iseq ${platform} pcbios || goto boot',
        'iseq ${netX/chip} undionly && goto boot ||',
        'echo pxe-hil: chainloading tftp://10.42.0.1/undionly.kpxe',
        'chain tftp://10.42.0.1/undionly.kpxe',
        ':boot',
        'echo pxe-hil: booting busybox',
        'kernel http://10.42.0.1/linux initrd=initrd.gz console=ttyS0,115200 quiet',
        'initrd http://10.42.0.1/initrd.gz',
        'boot',
        '',
      ].join('\n'),
    );
  });
});

describe('renderGrubConfig', () => {
  it('boots one entry at once, kernel and initrd from the TFTP root', () => {
    expect(renderGrubConfig(entry)).toBe(
      [
        'set timeout=0',
        "menuentry 'busybox' {",
        '  linux /linux console=ttyS0,115200 quiet',
        '  initrd /initrd.gz',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('leaves out the initrd line without an initrd, and quotes out of the label', () => {
    expect(renderGrubConfig({ label: "it's bare", kernel: 'vmlinuz', cmdline: '' })).toBe(
      "set timeout=0\nmenuentry 'its bare' {\n  linux /vmlinuz\n}\n",
    );
  });
});

describe('renderPxelinuxConfig', () => {
  it('renders one default label with kernel, initrd and append', () => {
    expect(renderPxelinuxConfig(entry)).toBe(
      [
        'DEFAULT hil',
        'PROMPT 0',
        'TIMEOUT 0',
        '',
        'LABEL hil',
        '  MENU LABEL busybox',
        '  KERNEL linux',
        '  INITRD initrd.gz',
        '  APPEND console=ttyS0,115200 quiet',
        '',
      ].join('\n'),
    );
  });

  it('leaves out INITRD without an initrd', () => {
    expect(renderPxelinuxConfig({ label: 'k', kernel: 'linux', cmdline: 'console=ttyS0' })).toBe(
      'DEFAULT hil\nPROMPT 0\nTIMEOUT 0\n\nLABEL hil\n  MENU LABEL k\n  KERNEL linux\n  APPEND console=ttyS0\n',
    );
  });

  it('leaves out APPEND without a cmdline', () => {
    expect(renderPxelinuxConfig({ label: 'k', kernel: 'linux', initrd: 'initrd.gz', cmdline: '' })).toBe(
      'DEFAULT hil\nPROMPT 0\nTIMEOUT 0\n\nLABEL hil\n  MENU LABEL k\n  KERNEL linux\n  INITRD initrd.gz\n',
    );
  });

  it('renders kernel only when there is neither initrd nor cmdline', () => {
    expect(renderPxelinuxConfig({ label: 'k', kernel: 'linux', cmdline: '' })).toBe(
      'DEFAULT hil\nPROMPT 0\nTIMEOUT 0\n\nLABEL hil\n  MENU LABEL k\n  KERNEL linux\n',
    );
  });
});

describe('pxelinuxConfigName', () => {
  it('lower-cases the MAC, turns colons into dashes and prefixes the ARP type 01', () => {
    expect(pxelinuxConfigName('52:54:00:A1:0B:FF')).toBe('pxelinux.cfg/01-52-54-00-a1-0b-ff');
  });

  it('keeps an already lower-case MAC', () => {
    expect(pxelinuxConfigName('52:54:00:a1:00:01')).toBe('pxelinux.cfg/01-52-54-00-a1-00-01');
  });
});
