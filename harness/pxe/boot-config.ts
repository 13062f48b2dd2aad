/**
 * Boot configuration for the job's board, rendered per job: an iPXE script
 * (kernel and initrd over HTTP) and a pxelinux config named after the board's
 * MAC (kernel and initrd over TFTP). Pure functions.
 *
 * Reference: iPXE command reference (kernel, initrd, boot); PXELINUX docs
 * (config file search order, 01-<mac> names; KERNEL, INITRD, APPEND).
 */
export type BootEntry = {
  label: string;
  kernel: string;
  initrd?: string;
  cmdline: string;
  /** Served name of a device tree (U-Boot's `pxe get` loads it: FDT). */
  fdt?: string;
};

export function renderIpxeScript(entry: BootEntry, baseUrl: string): string {
  const lines = ['#!ipxe', `echo pxe-hil: booting ${entry.label}`, `kernel ${baseUrl}/${entry.kernel} ${entry.cmdline}`.trimEnd()];
  if (entry.initrd) lines.push(`initrd ${baseUrl}/${entry.initrd}`);
  lines.push('boot');
  return lines.join('\n') + '\n';
}

export function renderPxelinuxConfig(entry: BootEntry): string {
  const lines = ['DEFAULT hil', 'PROMPT 0', 'TIMEOUT 0', '', 'LABEL hil', `  MENU LABEL ${entry.label}`, `  KERNEL ${entry.kernel}`];
  if (entry.initrd) lines.push(`  INITRD ${entry.initrd}`);
  if (entry.fdt) lines.push(`  FDT ${entry.fdt}`);
  if (entry.cmdline) lines.push(`  APPEND ${entry.cmdline}`);
  return lines.join('\n') + '\n';
}

/** The name pxelinux asks for first for a board with this MAC: pxelinux.cfg/01-aa-bb-cc-dd-ee-ff. */
export function pxelinuxConfigName(mac: string): string {
  return `pxelinux.cfg/01-${mac.toLowerCase().replace(/:/g, '-')}`;
}
