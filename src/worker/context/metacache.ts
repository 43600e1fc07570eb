/**
 * The build context's metadata cache, as BuildKit's contenthash cache: for each file of a context
 * directory, the (inode, size, mtime, ctime) it had when its content was hashed, and that sha256.
 * In: the cache file (one per context directory, in the store) and lstat results. Out: the content
 * digest of a file whose metadata is unchanged, so a rebuild reads only files that changed.
 *
 * Correctness: a write changes ctime (which no user call can set back), so a file rewritten with
 * the same size and its mtime restored is still noticed. A file changed within the kernel's
 * timestamp tick after it was hashed could keep its ctime ("racily clean", as git calls it): an
 * entry is saved only when its ctime is more than RACY_MS before the cache was opened, so such a file
 * is hashed again next time. Concurrent builds: the file is read once and replaced atomically (temp
 * file + rename); every entry validates itself against lstat, so whichever build writes last leaves
 * a correct cache.
 *
 * File format: JSON `{v, e: [[path relative to the context, ino, size, mtime ms, ctime ms, hex]]}`
 * (one JSON.parse: far cheaper for 100k entries than splitting text).
 * Numbers round-trip exactly through JSON, so a lookup compares what lstat said.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';

const VERSION = 'stagecraft-context-meta-v2';
/** entries whose ctime is this close to the cache's opening are not saved (see module comment) */
export const RACY_MS = 1000;
const MAX_ENTRIES = 1_000_000;

interface Entry {
  ino: number;
  size: number;
  mtime: number;
  ctime: number;
  hex: string;
}

export class ContextMetaCache {
  private readonly entries = new Map<string, Entry>();
  private readonly opened = Date.now();
  private dirty = false;
  /** digests taken from the cache / computed, since open (for benchmarks and specs) */
  hits = 0;
  misses = 0;

  private constructor(
    readonly file: string | undefined,
    readonly root: string,
  ) {}

  /** Reads the cache of context `root` from `file` (missing or unreadable: empty). No file: in memory only. */
  static open(root: string, file?: string): ContextMetaCache {
    const c = new ContextMetaCache(file, root);
    if (!file) return c;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return c;
    }
    let doc: { v?: string; e?: [string, number, number, number, number, string][] };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch {
      return c;
    }
    if (doc.v !== VERSION || !Array.isArray(doc.e)) return c;
    for (const [path, ino, size, mtime, ctime, hex] of doc.e) c.entries.set(path, { ino, size, mtime, ctime, hex });
    return c;
  }

  private rel(host: string): string | undefined {
    if (host === this.root) return '';
    return host.startsWith(`${this.root}/`) ? host.slice(this.root.length + 1) : undefined;
  }

  /** The recorded digest of `host` when its metadata `st` is what it was when hashed. */
  lookup(host: string, st: Stats): string | undefined {
    const r = this.rel(host);
    const e = r === undefined ? undefined : this.entries.get(r);
    // numbers round-trip exactly through their decimal form, so this is equality of what lstat said
    if (e && e.ino === st.ino && e.size === st.size && e.mtime === st.mtimeMs && e.ctime === st.ctimeMs) {
      this.hits++;
      return e.hex;
    }
    this.misses++;
    return undefined;
  }

  record(host: string, st: Stats, hex: string): void {
    const r = this.rel(host);
    if (r === undefined) return;
    if (st.ctimeMs >= this.opened - RACY_MS) {
      this.entries.delete(r); // racily clean: hash it again next time
      return;
    }
    this.entries.set(r, { ino: st.ino, size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs, hex });
    this.dirty = true;
  }

  /** Writes the cache back if anything was recorded (atomically; errors are ignored: it is a cache). */
  save(): void {
    if (!this.file || !this.dirty) return;
    const e: [string, number, number, number, number, string][] = [];
    for (const [k, x] of this.entries) {
      if (e.length >= MAX_ENTRIES) break;
      e.push([k, x.ino, x.size, x.mtime, x.ctime, x.hex]);
    }
    const tmp = join(dirname(this.file), `.w-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(tmp, JSON.stringify({ v: VERSION, e }));
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      try {
        unlinkSync(tmp);
      } catch {
        /* never written */
      }
    }
  }
}
