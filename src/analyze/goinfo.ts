/**
 * Go build info in binaries (what `go version -m` prints). In: the bytes of an ELF executable as
 * they stream by. Out: the Go version, main module and dependencies.
 *
 * Go 1.18+ writes the `\xff Go buildinf:` header (16-byte aligned, in `.go.buildinfo`) with the
 * strings inline after it (flag bit 2). Earlier Go (1.13-1.17) writes the same header with a pointer
 * size and byte order (flag bit 1: big-endian) followed by two pointers: the addresses of the string
 * headers (data pointer, length) of `runtime.buildVersion` and `runtime.modinfo`, which point again,
 * into `.rodata`, before the header in the file. So for a Go ELF (recognised by its `Go` build-id
 * note near the start) `GoBuildInfoScanner` keeps the file until the header says which form it is:
 * inline, it keeps the 64 KiB after the header; pointers, it keeps the whole file (at most
 * `WHOLE_MAX`) and resolves them through the ELF program headers (PT_LOAD: virtual address → file
 * offset), as Go's debug/buildinfo does, then re-encodes the result in the inline form.
 * `parseGoBuildInfo` reads that form. Pure.
 */
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const KEEP = 64 * 1024;
/** How far into a file the `Go` build-id note is looked for. */
const NOTE_WINDOW = 16 * 1024;
/** The largest Go binary kept whole to resolve the pre-1.18 pointers. */
const WHOLE_MAX = 256 << 20;
/** An ELF note named "Go" of type 4 (NT_GO_BUILDID), either byte order. */
const GO_NOTE = /\x04\x00\x00\x00[\s\S]{4}\x04\x00\x00\x00Go\x00\x00|\x00\x00\x00\x04[\s\S]{4}\x00\x00\x00\x04Go\x00\x00/;

export class GoBuildInfoScanner {
  private pos = 0;
  private elf?: boolean;
  private head = Buffer.alloc(0);
  /** The file so far, while it may be a Go binary in the pre-1.18 form. */
  private whole?: Buffer[] = [];
  private wholeLen = 0;
  private goNote?: boolean;
  private tail = Buffer.alloc(0);
  private found?: Buffer[];
  private foundLen = 0;
  private foundAt = 0;
  private inline?: boolean;

  /** Feeds the next chunk; cheap once the blob is complete or the file is not ELF. */
  push(chunk: Buffer): void {
    if (this.elf === false) return;
    if (this.elf === undefined) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 4) return;
      this.elf = this.head[0] === 0x7f && this.head.toString('latin1', 1, 4) === 'ELF';
      if (!this.elf) return;
      chunk = this.head;
      this.head = Buffer.alloc(0);
    }
    const at = this.pos;
    this.pos += chunk.length;
    this.keepWhole(chunk);
    if (this.found) {
      if (this.foundLen < KEEP) {
        this.found.push(chunk);
        this.foundLen += chunk.length;
      }
      return;
    }
    const buf = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const bufAt = at - this.tail.length;
    for (let from = 0; ; ) {
      const i = buf.indexOf(MAGIC, from);
      if (i < 0) break;
      if ((bufAt + i) % 16 !== 0) {
        from = i + 1;
        continue;
      }
      if (buf.length - i < 16) {
        this.tail = Buffer.from(buf.subarray(i));
        return;
      }
      const ptrSize = buf[i + MAGIC.length];
      if (ptrSize !== 4 && ptrSize !== 8) {
        from = i + 1;
        continue;
      }
      const rest = buf.subarray(i);
      this.found = [rest];
      this.foundLen = rest.length;
      this.foundAt = bufAt + i;
      // the flags byte is in: the inline form needs only what follows, so the file is let go
      this.inline = (rest[15] & 2) !== 0;
      if (this.inline) this.whole = undefined;
      return;
    }
    this.tail = Buffer.from(buf.subarray(Math.max(0, buf.length - (MAGIC.length - 1))));
  }

  private keepWhole(chunk: Buffer): void {
    if (!this.whole) return;
    this.whole.push(chunk);
    this.wholeLen += chunk.length;
    if (this.goNote === undefined && this.wholeLen >= NOTE_WINDOW) {
      this.goNote = GO_NOTE.test(Buffer.concat(this.whole).toString('latin1', 0, NOTE_WINDOW));
      if (!this.goNote) this.whole = undefined;
    }
    if (this.wholeLen > WHOLE_MAX) this.whole = undefined;
  }

  /** The blob in the inline form (from the magic on, at most 64 KiB) as a latin1 string, or undefined. */
  result(): string | undefined {
    if (!this.found) return undefined;
    const blob = Buffer.concat(this.found).subarray(0, KEEP);
    if (this.inline === false && this.whole) {
      let file = Buffer.concat(this.whole);
      if (this.goNote === undefined && !GO_NOTE.test(file.toString('latin1', 0, NOTE_WINDOW))) file = Buffer.alloc(0);
      const resolved = file.length ? inlineFromPointers(file, this.foundAt) : undefined;
      if (resolved) return resolved.toString('latin1');
    }
    return blob.toString('latin1');
  }
}

interface Segment {
  vaddr: bigint;
  offset: bigint;
  filesz: bigint;
}

/** PT_LOAD segments of an ELF file (32 or 64 bit, either byte order), or undefined if the header is not sound. */
function loadSegments(file: Buffer): Segment[] | undefined {
  if (file.length < 52 || file.toString('latin1', 1, 4) !== 'ELF') return undefined;
  const is64 = file[4] === 2;
  const be = file[5] === 2;
  const u16 = (o: number) => (be ? file.readUInt16BE(o) : file.readUInt16LE(o));
  const u32 = (o: number) => BigInt(be ? file.readUInt32BE(o) : file.readUInt32LE(o));
  const u64 = (o: number) => (be ? file.readBigUInt64BE(o) : file.readBigUInt64LE(o));
  const word = is64 ? u64 : u32;
  const phoff = Number(is64 ? u64(0x20) : u32(0x1c));
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const out: Segment[] = [];
  for (let k = 0; k < phnum; k++) {
    const p = phoff + k * phentsize;
    if (p + (is64 ? 56 : 32) > file.length) return undefined;
    if (Number(u32(p)) !== 1) continue; // PT_LOAD
    out.push(is64 ? { offset: word(p + 8), vaddr: word(p + 16), filesz: word(p + 32) } : { offset: word(p + 4), vaddr: word(p + 8), filesz: word(p + 16) });
  }
  return out;
}

/** `size` bytes at virtual address `addr` (Go's elfExe.ReadData), or undefined. */
function readAt(file: Buffer, segs: Segment[], addr: bigint, size: number): Buffer | undefined {
  for (const s of segs) {
    if (s.filesz === 0n || addr < s.vaddr || addr > s.vaddr + s.filesz - 1n) continue;
    const n = Math.min(size, Number(s.vaddr + s.filesz - addr));
    const off = Number(s.offset + (addr - s.vaddr));
    if (off + n > file.length) return undefined;
    return file.subarray(off, off + n);
  }
  return undefined;
}

function uvarintBytes(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

/**
 * The pre-1.18 header at `at` resolved to the inline form: the two pointers lead to string headers
 * (data address, length, each a pointer-sized word), whose bytes are read through the PT_LOAD segments.
 */
export function inlineFromPointers(file: Buffer, at: number): Buffer | undefined {
  if (at + 16 > file.length || !file.subarray(at, at + MAGIC.length).equals(MAGIC)) return undefined;
  const ptrSize = file[at + 14];
  const flags = file[at + 15];
  if ((ptrSize !== 4 && ptrSize !== 8) || (flags & 2) !== 0 || at + 16 + 2 * ptrSize > file.length) return undefined;
  const segs = loadSegments(file);
  if (!segs) return undefined;
  const be = (flags & 1) !== 0;
  const ptr = (b: Buffer, o: number): bigint => (ptrSize === 8 ? (be ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o)) : BigInt(be ? b.readUInt32BE(o) : b.readUInt32LE(o)));
  const str = (addr: bigint): Buffer => {
    const hdr = readAt(file, segs, addr, 2 * ptrSize);
    if (!hdr || hdr.length < 2 * ptrSize) return Buffer.alloc(0);
    const len = ptr(hdr, ptrSize);
    if (len > 20n << 20n) return Buffer.alloc(0);
    const data = readAt(file, segs, ptr(hdr, 0), Number(len));
    return data && data.length === Number(len) ? data : Buffer.alloc(0);
  };
  const vers = str(ptr(file, at + 16));
  const mod = str(ptr(file, at + 16 + ptrSize));
  if (vers.length === 0) return undefined;
  return Buffer.concat([MAGIC, Buffer.from([ptrSize, flags | 2]), Buffer.alloc(16), uvarintBytes(vers.length), vers, uvarintBytes(mod.length), mod]);
}

export interface GoBuildInfo {
  goVersion: string;
  /** The `path` line (the main package). */
  path: string;
  main?: { path: string; version: string };
  deps: Array<{ path: string; version: string }>;
}

function uvarint(b: Buffer, off: number): [number, number] {
  let x = 0;
  let s = 0;
  for (let i = off; i < b.length && i < off + 10; i++) {
    const c = b[i];
    if (c < 0x80) return [x + c * 2 ** s, i + 1];
    x += (c & 0x7f) * 2 ** s;
    s += 7;
  }
  return [-1, off];
}

/** Reads a blob kept by the scanner (the inline form; a pre-1.18 blob the scanner could not resolve yields only that). */
export function parseGoBuildInfo(raw: string): GoBuildInfo | undefined {
  const b = Buffer.from(raw, 'latin1');
  if (b.length < 33 || !b.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const flags = b[15];
  if ((flags & 2) === 0) return { goVersion: 'unknown (Go < 1.18, build info not resolved)', path: '', deps: [] };
  let [n, off] = uvarint(b, 32);
  if (n < 0 || off + n > b.length) return undefined;
  const goVersion = b.toString('utf8', off, off + n);
  off += n;
  [n, off] = uvarint(b, off);
  if (n < 0 || off + n > b.length) return undefined;
  let mod = b.subarray(off, off + n).toString('utf8');
  if (mod.length >= 33 && mod[mod.length - 17] === '\n') mod = mod.slice(16, -16);
  const info: GoBuildInfo = { goVersion, path: '', deps: [] };
  let last: { path: string; version: string } | undefined;
  for (const line of mod.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'path') info.path = f[1] ?? '';
    else if (f[0] === 'mod') last = info.main = { path: f[1] ?? '', version: f[2] ?? '' };
    else if (f[0] === 'dep') {
      last = { path: f[1] ?? '', version: f[2] ?? '' };
      info.deps.push(last);
    } else if (f[0] === '=>' && last) last.version = `${last.version} => ${f[1]}${f[2] ? ` ${f[2]}` : ''}`;
  }
  return info;
}
