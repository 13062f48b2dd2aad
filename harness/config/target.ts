/**
 * A target: one board (or virtual board) the harness can power, netboot and
 * watch. Target files live in targets/<name>.ts and export
 * `defineTarget({...})`; they are validated when loaded.
 */
import { z } from 'zod';

const mac = z
  .string()
  .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i, 'expected a MAC address such as 52:54:00:12:34:56')
  .transform((value) => value.toLowerCase());

const qemuPower = z
  .object({
    driver: z.literal('qemu'),
    memoryMiB: z.number().int().min(128).max(65536).default(1024),
    cpus: z.number().int().min(1).max(64).default(1),
    nic: z.enum(['virtio-net-pci', 'e1000']).default('virtio-net-pci'),
    accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

const qemuSocketConsole = z
  .object({
    kind: z.literal('qemu-socket'),
    /** The kernel's console= argument for this port. */
    kernelConsole: z.string().regex(/^tty\w+(,\d+\w*)?$/, 'expected a kernel console such as ttyS0,115200').default('ttyS0,115200'),
  })
  .strict();

const qemuTapNetwork = z
  .object({
    kind: z.literal('qemu-tap'),
    mac,
  })
  .strict();

export const targetSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'expected lower-case letters, digits and dashes'),
    description: z.string().default(''),
    /** Boot image, by name (fixtures/images). */
    image: z.string().min(1),
    /** Extra kernel arguments for every image booted on this target. */
    kernelArgs: z.string().default(''),
    power: z.discriminatedUnion('driver', [qemuPower]),
    console: z.discriminatedUnion('kind', [qemuSocketConsole]),
    network: z.discriminatedUnion('kind', [qemuTapNetwork]),
    boot: z
      .object({
        /** 'auto': iPXE clients get an iPXE script (HTTP), others pxelinux (TFTP). 'pxelinux': everyone gets pxelinux. */
        loader: z.enum(['auto', 'pxelinux']).default('auto'),
      })
      .strict()
      .default({ loader: 'auto' }),
    /** Power the target off when the job ends (pass, fail or abort). */
    powerOffAtEnd: z.boolean().default(true),
    /** Multiplies every milestone time-out, for slow boards. */
    timeoutScale: z.number().positive().max(100).default(1),
  })
  .strict();

export type TargetInput = z.input<typeof targetSchema>;
export type Target = z.output<typeof targetSchema>;

/** Declares a target; the harness validates it when it loads the file. */
export function defineTarget(target: TargetInput): TargetInput {
  return target;
}
