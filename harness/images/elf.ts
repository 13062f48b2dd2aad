/**
 * Reads what a dynamically linked ELF program needs to run: its interpreter
 * (PT_INTERP) and the shared libraries it names (DT_NEEDED), so that an
 * initramfs can carry exactly those. Pure: bytes in, names out. 64-bit
 * little-endian ELF only (x86-64).
 *
 * Tested against: Debian 12 amd64 binaries (dropbear-bin, openssh-sftp-server, coreutils).
 * Reference: System V ABI, ELF-64 Object File Format 1.5 (program headers, dynamic section).
 */
export type ElfDependencies = { interpreter?: string; needed: string[] };

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

type Segment = { type: number; offset: number; vaddr: number; filesz: number };

export function elfDependencies(bytes: Buffer): ElfDependencies {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    segments.push({
      type: bytes.readUInt32LE(at),
      offset: Number(bytes.readBigUInt64LE(at + 8)),
      vaddr: Number(bytes.readBigUInt64LE(at + 16)),
      filesz: Number(bytes.readBigUInt64LE(at + 32)),
    });
  }
  const interp = segments.find((s) => s.type === PT_INTERP);
  const interpreter = interp ? cString(bytes, interp.offset) : undefined;
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dynamic) return { interpreter, needed: [] };

  const neededOffsets: bigint[] = [];
  let strtab: bigint | undefined;
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.filesz; at += 16) {
    const tag = bytes.readBigInt64LE(at);
    const value = bytes.readBigUInt64LE(at + 8);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededOffsets.push(value);
    else if (tag === DT_STRTAB) strtab = value;
  }
  if (strtab === undefined) throw new Error('ELF dynamic section has no string table');
  const strtabOffset = fileOffset(segments, Number(strtab));
  return { interpreter, needed: neededOffsets.map((o) => cString(bytes, strtabOffset + Number(o))) };
}

function fileOffset(segments: Segment[], vaddr: number): number {
  const load = segments.find((s) => s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
  if (!load) throw new Error(`ELF address 0x${vaddr.toString(16)} is in no loaded segment`);
  return vaddr - load.vaddr + load.offset;
}

function cString(bytes: Buffer, offset: number): string {
  const end = bytes.indexOf(0, offset);
  return bytes.toString('latin1', offset, end < 0 ? bytes.length : end);
}
