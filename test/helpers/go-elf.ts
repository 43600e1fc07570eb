/**
 * A minimal ELF executable laid out as Go 1.13-1.17 laid out its build info, for tests (no old Go
 * toolchain is on this machine). What Go's linker wrote, and what this makes:
 * - a PT_NOTE with the `Go` build-id note (name "Go\0\0", type 4) near the start of the file;
 * - `.rodata`: the bytes of `runtime.buildVersion` ("go1.16.15") and of `runtime.modinfo` (the
 *   module lines between cmd/go's 16-byte start and end sentinels); a decoy copy of the magic string,
 *   not 16-byte aligned, as binaries that link debug/buildinfo carry;
 * - `.go.buildinfo` (16-byte aligned, past the first 16 KiB): `\xff Go buildinf:`, pointer size,
 *   flags (bit 1: big-endian; bit 2 clear: pointers, not inline strings), then the addresses of the
 *   two string headers;
 * - `.data`: the string headers (data address, length), pointer-sized words;
 * - one PT_LOAD mapping the whole file at `VADDR`, so addresses resolve to file offsets.
 */
export const MOD_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
export const MOD_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

export function oldGoElf(opts: { is64: boolean; bigEndian: boolean; version: string; mod: string }): Buffer {
  const { is64, bigEndian: be } = opts;
  const ptr = is64 ? 8 : 4;
  const VADDR = 0x400000;
  const file = Buffer.alloc(0x5000);
  const w16 = (o: number, v: number) => (be ? file.writeUInt16BE(v, o) : file.writeUInt16LE(v, o));
  const w32 = (o: number, v: number) => (be ? file.writeUInt32BE(v, o) : file.writeUInt32LE(v, o));
  const wptr = (o: number, v: number) => (is64 ? (be ? file.writeBigUInt64BE(BigInt(v), o) : file.writeBigUInt64LE(BigInt(v), o)) : w32(o, v));
  // ELF header
  file.write('\x7fELF', 0, 'latin1');
  file[4] = is64 ? 2 : 1;
  file[5] = be ? 2 : 1;
  file[6] = 1;
  w16(16, 2); // ET_EXEC
  w16(18, is64 ? 0x3e : 0x03);
  w32(20, 1);
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  if (is64) {
    wptr(0x20, ehsize);
    w16(0x34, ehsize);
    w16(0x36, phentsize);
    w16(0x38, 2);
  } else {
    wptr(0x1c, ehsize);
    w16(0x28, ehsize);
    w16(0x2a, phentsize);
    w16(0x2c, 2);
  }
  const noteOff = 0x100;
  const phdr = (at: number, type: number, off: number, size: number) => {
    w32(at, type);
    if (is64) {
      w32(at + 4, 5);
      wptr(at + 8, off);
      wptr(at + 16, VADDR + off);
      wptr(at + 24, VADDR + off);
      wptr(at + 32, size);
      wptr(at + 40, size);
      wptr(at + 48, 0x1000);
    } else {
      wptr(at + 4, off);
      wptr(at + 8, VADDR + off);
      wptr(at + 12, VADDR + off);
      wptr(at + 16, size);
      wptr(at + 20, size);
      w32(at + 24, 5);
      w32(at + 28, 0x1000);
    }
  };
  phdr(ehsize, 4, noteOff, 24); // PT_NOTE
  phdr(ehsize + phentsize, 1, 0, file.length); // PT_LOAD: the whole file
  // the Go build-id note
  w32(noteOff, 4);
  w32(noteOff + 4, 8);
  w32(noteOff + 8, 4);
  file.write('Go\0\0buildid!', noteOff + 12, 'latin1');
  // .rodata: a decoy magic (unaligned), the version and modinfo bytes
  file.write('\xff Go buildinf:', 0x1003, 'latin1');
  const vOff = 0x1100;
  file.write(opts.version, vOff, 'latin1');
  const mod = Buffer.concat([MOD_START, Buffer.from(opts.mod), MOD_END]);
  const mOff = 0x1200;
  mod.copy(file, mOff);
  // .data: string headers
  const hdrOff = 0x4800;
  wptr(hdrOff, VADDR + vOff);
  wptr(hdrOff + ptr, opts.version.length);
  wptr(hdrOff + 2 * ptr, VADDR + mOff);
  wptr(hdrOff + 3 * ptr, mod.length);
  // .go.buildinfo
  const bi = 0x4010;
  file.write('\xff Go buildinf:', bi, 'latin1');
  file[bi + 14] = ptr;
  file[bi + 15] = be ? 1 : 0;
  wptr(bi + 16, VADDR + hdrOff);
  wptr(bi + 16 + ptr, VADDR + hdrOff + 2 * ptr);
  return file;
}
