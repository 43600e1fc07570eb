/**
 * Go build info in binaries (what `go version -m` prints): the `\xff Go buildinf:` blob that Go 1.18+
 * writes inline (Go version, main module, dependencies). `GoBuildInfoScanner` finds the blob while a
 * file streams by (ELF executables only; the loader feeds it); `parseGoBuildInfo` reads it. Binaries
 * from Go before 1.18 keep pointers instead of inline strings: they are recognised but yield no
 * module list. Pure.
 */
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const KEEP = 64 * 1024;

export class GoBuildInfoScanner {
  private tail = Buffer.alloc(0);
  private found?: Buffer[];
  private foundLen = 0;
  private elf?: boolean;
  private head = Buffer.alloc(0);

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
    if (this.found) {
      if (this.foundLen < KEEP) {
        this.found.push(chunk);
        this.foundLen += chunk.length;
      }
      return;
    }
    const buf = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const i = buf.indexOf(MAGIC);
    if (i >= 0) {
      const rest = buf.subarray(i);
      this.found = [rest];
      this.foundLen = rest.length;
      return;
    }
    this.tail = Buffer.from(buf.subarray(Math.max(0, buf.length - (MAGIC.length - 1))));
  }

  /** The raw blob (from the magic on, at most 64 KiB) as a latin1 string, or undefined. */
  result(): string | undefined {
    if (!this.found) return undefined;
    return Buffer.concat(this.found).subarray(0, KEEP).toString('latin1');
  }
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

/** Reads a blob kept by the scanner; undefined when it is not Go 1.18+'s inline form. */
export function parseGoBuildInfo(raw: string): GoBuildInfo | undefined {
  const b = Buffer.from(raw, 'latin1');
  if (b.length < 33 || !b.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const flags = b[15];
  if ((flags & 2) === 0) return { goVersion: 'unknown (Go < 1.18)', path: '', deps: [] };
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
