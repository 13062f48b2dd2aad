/**
 * Boot configuration for the job's board, rendered per job: an iPXE script
 * (kernel and initrd over HTTP), a pxelinux config named after the board's
 * MAC and a GRUB config (kernel and initrd over TFTP). Pure functions.
 *
 * Reference: iPXE command reference (kernel, initrd, boot; initrd= for EFI); PXELINUX docs
 * (config file search order, 01-<mac> names; KERNEL, INITRD, APPEND); GRUB
 * manual (network boot: $prefix/grub.cfg; linux, initrd, menuentry).
 */
export type BootEntry = {
  label: string;
  kernel: string;
  initrd?: string;
  cmdline: string;
  /** Served name of a device tree (U-Boot's `pxe get` loads it: FDT). */
  fdt?: string;
};

/**
 * `biosChain`: the URL of undionly.kpxe, for a BIOS iPXE ROM to load first
 * (the script runs again under it: its network driver is then "undionly").
 */
export function renderIpxeScript(entry: BootEntry, baseUrl: string, options: { biosChain?: string } = {}): string {
  // initrd=<name>: iPXE on UEFI hands the initrd to the kernel's EFI stub as a file of that name; BIOS kernels ignore it.
  const initrdArg = entry.initrd ? `initrd=${entry.initrd.split('/').pop()} ` : '';
  const chain = options.biosChain
    ? [
        'iseq ${platform} pcbios || goto boot',
        'iseq ${netX/chip} undionly && goto boot ||',
        `echo pxe-hil: chainloading ${options.biosChain}`,
        `chain ${options.biosChain}`,
        ':boot',
      ]
    : [];
  const lines = [
    '#!ipxe',
    ...chain,
    `echo pxe-hil: booting ${entry.label}`,
    `kernel ${baseUrl}/${entry.kernel} ${initrdArg}${entry.cmdline}`.trimEnd(),
  ];
  if (entry.initrd) lines.push(`initrd ${baseUrl}/${entry.initrd}`);
  lines.push('boot');
  return `${lines.join('\n')}\n`;
}

export function renderPxelinuxConfig(entry: BootEntry): string {
  const lines = [
    'DEFAULT hil',
    'PROMPT 0',
    'TIMEOUT 0',
    '',
    'LABEL hil',
    `  MENU LABEL ${entry.label}`,
    `  KERNEL ${entry.kernel}`,
  ];
  if (entry.initrd) lines.push(`  INITRD ${entry.initrd}`);
  if (entry.fdt) lines.push(`  FDT ${entry.fdt}`);
  if (entry.cmdline) lines.push(`  APPEND ${entry.cmdline}`);
  return `${lines.join('\n')}\n`;
}

/** A GRUB config (grub/grub.cfg on the TFTP server) that boots the entry at once; paths are on the TFTP server GRUB came from. */
export function renderGrubConfig(entry: BootEntry): string {
  const lines = [
    'set timeout=0',
    `menuentry '${entry.label.replace(/'/g, '')}' {`,
    `  linux /${entry.kernel} ${entry.cmdline}`.trimEnd(),
  ];
  if (entry.initrd) lines.push(`  initrd /${entry.initrd}`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The name pxelinux asks for first for a board with this MAC: pxelinux.cfg/01-aa-bb-cc-dd-ee-ff. */
export function pxelinuxConfigName(mac: string): string {
  return `pxelinux.cfg/01-${mac.toLowerCase().replace(/:/g, '-')}`;
}
