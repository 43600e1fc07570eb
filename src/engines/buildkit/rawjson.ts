/**
 * BuildKit's progress, as `docker buildx build --progress rawjson` writes it (a stream of
 * `SolveStatus` JSON objects — vertexes, statuses, logs, warnings — pretty-printed, one after
 * another, interleaved with buildx's own text lines such as `ERROR: ...`), replayed into
 * stagecraft's progress display (plain / tty / json). In: text chunks. Out: calls on a
 * `ProgressSink`, plus the text lines and warnings that were not progress. Pure (no I/O).
 */
import { humanSize } from '../../util/human.js';
import type { ProgressSink, VertexHandle } from '../../solver/index.js';

interface RawVertex {
  digest: string;
  name?: string;
  started?: string;
  completed?: string;
  cached?: boolean;
  error?: string;
}
interface RawStatus {
  id: string;
  vertex: string;
  name?: string;
  current?: number;
  total?: number;
  completed?: string;
}
interface RawLog {
  vertex: string;
  data?: string;
}
interface RawWarning {
  vertex?: string;
  short?: string;
}
export interface SolveStatus {
  vertexes?: RawVertex[];
  statuses?: RawStatus[];
  logs?: RawLog[];
  warnings?: RawWarning[];
}

/** Splits a stream of concatenated JSON objects and text lines into both. */
export class JsonStreamSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private lineStart = 0;

  /** Feeds a chunk; returns the objects and text lines (without newline) completed by it. */
  feed(chunk: string): { objects: unknown[]; lines: string[] } {
    const objects: unknown[] = [];
    const lines: string[] = [];
    let i = this.buf.length;
    this.buf += chunk;
    for (; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.depth > 0) {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (c === '\\') this.escaped = true;
          else if (c === '"') this.inString = false;
        } else if (c === '"') this.inString = true;
        else if (c === '{' || c === '[') this.depth++;
        else if (c === '}' || c === ']') {
          this.depth--;
          if (this.depth === 0) {
            const text = this.buf.slice(this.start, i + 1);
            try {
              objects.push(JSON.parse(text));
            } catch {
              lines.push(text);
            }
            this.lineStart = i + 1;
          }
        }
      } else if (c === '{' && this.buf.slice(this.lineStart, i).trim() === '') {
        this.depth = 1;
        this.start = i;
      } else if (c === '\n') {
        const line = this.buf.slice(this.lineStart, i).replace(/\r$/, '');
        if (line.trim() !== '') lines.push(line);
        this.lineStart = i + 1;
      }
    }
    // keep only what is still open
    const keep = this.depth > 0 ? this.start : this.lineStart;
    this.buf = this.buf.slice(keep);
    if (this.depth > 0) this.start = 0;
    this.lineStart = Math.max(0, this.lineStart - keep);
    return { objects, lines };
  }

  /** The unterminated rest (a last line without newline). */
  flush(): string[] {
    const rest = this.buf.trim();
    this.buf = '';
    return rest ? [rest] : [];
  }
}

/** Replays SolveStatus objects into a ProgressSink, one stagecraft vertex per BuildKit vertex run. */
export class SolveStatusReplay {
  private open = new Map<string, VertexHandle>();
  private names = new Map<string, string>();
  private finished = new Set<string>();
  /** completed without error, ended when another vertex shows up (see settle) */
  private completing = new Set<string>();
  readonly warnings: string[] = [];
  /** vertex errors, in order (the first is the build's failure) */
  readonly errors: Array<{ name: string; error: string }> = [];

  constructor(private readonly sink: ProgressSink) {}

  private handle(digest: string): VertexHandle | undefined {
    let h = this.open.get(digest);
    if (!h && !this.finished.has(digest)) {
      const name = this.names.get(digest);
      if (name === undefined) return undefined;
      h = this.sink.start(name);
      this.open.set(digest, h);
    }
    return h;
  }

  apply(s: SolveStatus): void {
    for (const v of s.vertexes ?? []) {
      if (v.name !== undefined) this.names.set(v.digest, v.name);
      const name = this.names.get(v.digest) ?? v.digest;
      let h = this.open.get(v.digest);
      if (!h && v.cached && !v.error) {
        if (!this.finished.has(v.digest)) this.sink.cached(name);
        this.finished.add(v.digest);
        continue;
      }
      if (h && v.started && !v.completed) this.completing.delete(v.digest); // it runs again (BuildKit restarts "load build definition"): the same vertex
      if (!h && v.started) {
        this.finished.delete(v.digest);
        h = this.handle(v.digest);
      }
      if (h && v.completed) {
        if (v.error) {
          this.errors.push({ name, error: v.error });
          h.fail(v.error);
          this.open.delete(v.digest);
          this.finished.add(v.digest);
        } else this.completing.add(v.digest);
      }
    }
    this.settle(s);
    for (const st of s.statuses ?? []) {
      if (!st.completed) continue;
      const h = this.open.get(st.vertex);
      if (!h) continue;
      const size = st.current ? ` ${humanSize(st.current)}${st.total ? ` / ${humanSize(st.total)}` : ''}` : '';
      h.status(`${st.id}${size} done`);
    }
    for (const l of s.logs ?? []) {
      const h = this.open.get(l.vertex) ?? this.handle(l.vertex);
      if (h && l.data) h.log(Buffer.from(l.data, 'base64').toString('utf8'));
    }
    for (const w of s.warnings ?? []) {
      if (w.short) this.warnings.push(Buffer.from(w.short, 'base64').toString('utf8'));
    }
  }

  /**
   * A completed vertex is ended once another vertex shows up: BuildKit may start the same one
   * again right away, which stays one vertex in the display as in BuildKit's own.
   */
  private settle(s: SolveStatus, all = false): void {
    const active = new Set((s.vertexes ?? []).map((v) => v.digest));
    for (const d of [...this.completing]) {
      if (!all && active.has(d)) continue;
      this.open.get(d)?.done();
      this.open.delete(d);
      this.finished.add(d);
      this.completing.delete(d);
    }
  }

  /** Ends vertices BuildKit left open (a canceled build). */
  close(): void {
    this.settle({}, true);
    for (const h of this.open.values()) h.fail('canceled');
    this.open.clear();
  }
}
