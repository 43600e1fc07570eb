/**
 * Build progress, rendered like BuildKit. In: events from the engine (a vertex starts, logs a line,
 * reports a status, is CACHED, is DONE, fails). Out: text on a stream —
 *  - `plain`: `#N name` / `#N 0.123 output` / `#N CACHED` / `#N DONE 1.2s` / `#N ERROR: ...`
 *    (the header is repeated when output switches between concurrent vertices, as BuildKit does);
 *  - `tty`: a live `[+] Building` view redrawn with log-update, printed in full at the end;
 *  - `json`: one JSON object per line, on the same stream:
 *      {"type":"vertex","vertex":N,"name":"[build 2/4] RUN ...","started":ISO[,"cached":true]}
 *      {"type":"log","vertex":N,"ts":0.123,"line":"output"}
 *      {"type":"status","vertex":N,"text":"naming to docker.io/library/x:y done"}
 *      {"type":"vertex","vertex":N,"name":...,"completed":ISO,"duration":1.2[,"cached":true][,"error":"..."]}
 * Also formats BuildKit's failure report: the last log lines box and the Dockerfile snippet.
 */
import type { Writable } from 'node:stream';

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'json' | 'quiet';

interface Vertex {
  n: number;
  name: string;
  started: number;
  completed?: number;
  cached?: boolean;
  error?: string;
  logs: string[];
  statuses: string[];
}

export interface ProgressSink {
  /** starts a vertex and returns its handle */
  start(name: string): VertexHandle;
  /** a vertex that was found in the cache (printed as CACHED right away) */
  cached(name: string): void;
  close(): Promise<void>;
}

export interface VertexHandle {
  readonly n: number;
  log(line: string): void;
  status(text: string): void;
  done(): void;
  fail(message: string): void;
  /** the last output lines, `0.123 text` (for the error report) */
  lastLogs(max: number): string[];
  readonly name: string;
}

const now = (): number => performance.now();

function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}

export function createProgress(mode: ProgressMode, out: Writable & { isTTY?: boolean; columns?: number }): ProgressSink {
  const resolved: ProgressMode = mode === 'auto' ? (out.isTTY ? 'tty' : 'plain') : mode;
  if (resolved === 'tty') return new TtyProgress(out);
  if (resolved === 'json') return new JsonProgress(out);
  if (resolved === 'quiet') return new PlainProgress(null);
  return new PlainProgress(out);
}

abstract class BaseProgress implements ProgressSink {
  protected vertices: Vertex[] = [];
  protected t0 = now();
  private counter = 0;

  protected abstract onStart(v: Vertex): void;
  protected abstract onLog(v: Vertex, line: string, ts: number): void;
  protected abstract onStatus(v: Vertex, text: string): void;
  protected abstract onEnd(v: Vertex): void;

  start(name: string): VertexHandle {
    const v: Vertex = { n: ++this.counter, name, started: now(), logs: [], statuses: [] };
    this.vertices.push(v);
    this.onStart(v);
    let partial = '';
    const self = this;
    return {
      n: v.n,
      name,
      log(chunk: string) {
        const text = partial + chunk;
        const lines = text.split(/\r?\n/);
        partial = lines.pop() ?? '';
        for (const l of lines) {
          const ts = (now() - v.started) / 1000;
          v.logs.push(`${ts.toFixed(3)} ${l}`);
          if (v.logs.length > 200) v.logs.shift();
          self.onLog(v, l, ts);
        }
      },
      status(text: string) {
        v.statuses.push(text);
        self.onStatus(v, text);
      },
      done() {
        if (partial) this.log('\n');
        if (v.completed !== undefined) return;
        v.completed = now();
        self.onEnd(v);
      },
      fail(message: string) {
        if (partial) this.log('\n');
        if (v.completed !== undefined) return;
        v.completed = now();
        v.error = message;
        self.onEnd(v);
      },
      lastLogs(max: number) {
        return v.logs.slice(-max);
      },
    };
  }

  cached(name: string): void {
    const v: Vertex = { n: ++this.counter, name, started: now(), cached: true, logs: [], statuses: [] };
    v.completed = v.started;
    this.vertices.push(v);
    this.onStart(v);
    this.onEnd(v);
  }

  async close(): Promise<void> {
    /* nothing by default */
  }
}

class PlainProgress extends BaseProgress {
  private last = 0;
  private lastFailed = false;
  constructor(private out: Writable | null) {
    super();
  }
  private w(s: string): void {
    this.out?.write(s);
  }
  private header(v: Vertex): void {
    if (this.last !== v.n) {
      if (this.last !== 0) this.w('\n');
      this.w(`#${v.n} ${v.name}\n`);
      this.last = v.n;
    }
  }
  protected onStart(v: Vertex): void {
    this.header(v);
  }
  protected onLog(v: Vertex, line: string, ts: number): void {
    this.header(v);
    this.w(`#${v.n} ${ts.toFixed(3)} ${line}\n`);
  }
  protected onStatus(v: Vertex, text: string): void {
    this.header(v);
    this.w(`#${v.n} ${text}\n`);
  }
  protected onEnd(v: Vertex): void {
    this.header(v);
    this.lastFailed = v.error !== undefined;
    if (v.cached) this.w(`#${v.n} CACHED\n`);
    else if (v.error !== undefined) this.w(`#${v.n} ERROR: ${v.error}\n`);
    else this.w(`#${v.n} DONE ${secs((v.completed ?? now()) - v.started)}s\n`);
  }
  override async close(): Promise<void> {
    // BuildKit follows a failed vertex directly with the error report
    if (this.last !== 0 && !this.lastFailed) this.w('\n');
  }
}

class JsonProgress extends BaseProgress {
  constructor(private out: Writable) {
    super();
  }
  private emit(o: Record<string, unknown>): void {
    this.out.write(`${JSON.stringify(o)}\n`);
  }
  protected onStart(v: Vertex): void {
    this.emit({ type: 'vertex', vertex: v.n, name: v.name, started: new Date().toISOString(), ...(v.cached ? { cached: true } : {}) });
  }
  protected onLog(v: Vertex, line: string, ts: number): void {
    this.emit({ type: 'log', vertex: v.n, ts: Number(ts.toFixed(3)), line });
  }
  protected onStatus(v: Vertex, text: string): void {
    this.emit({ type: 'status', vertex: v.n, text });
  }
  protected onEnd(v: Vertex): void {
    this.emit({
      type: 'vertex',
      vertex: v.n,
      name: v.name,
      completed: new Date().toISOString(),
      duration: Number((((v.completed ?? now()) - v.started) / 1000).toFixed(3)),
      ...(v.cached ? { cached: true } : {}),
      ...(v.error !== undefined ? { error: v.error } : {}),
    });
  }
}

class TtyProgress extends BaseProgress {
  private timer?: NodeJS.Timeout;
  private update?: ((s: string) => void) & { done?: () => void; clear?: () => void };
  private ready: Promise<void>;
  constructor(private out: Writable & { columns?: number }) {
    super();
    this.ready = import('log-update').then((m) => {
      const create = (m as unknown as { createLogUpdate: (s: Writable, o?: object) => (s: string) => void }).createLogUpdate;
      this.update = create(out, { showCursor: true }) as typeof this.update;
      this.timer = setInterval(() => this.render(), 150);
      this.timer.unref();
    });
  }
  private frame(final: boolean): string {
    const elapsed = secs(now() - this.t0);
    const finished = this.vertices.filter((v) => v.completed !== undefined).length;
    const cols = this.out.columns || 80;
    const lines = [`[+] Building ${elapsed}s (${finished}/${this.vertices.length})${final ? ' FINISHED' : ''}`];
    for (const v of this.vertices) {
      const dur = v.cached ? '' : `${secs((v.completed ?? now()) - v.started)}s`;
      const prefix = v.cached ? ' => CACHED ' : v.error !== undefined ? ' => ERROR ' : ' => ';
      let l = `${prefix}${v.name}`;
      const room = cols - dur.length - 1;
      if (l.length > room) l = `${l.slice(0, Math.max(0, room - 1))}…`;
      lines.push(l.padEnd(room) + ' ' + dur);
      if (v.completed === undefined || v.error !== undefined) {
        const tail = v.error !== undefined ? [] : v.logs.slice(-6);
        for (const t of tail) lines.push(` => => # ${t.replace(/^\S+ /, '')}`.slice(0, cols));
      }
      for (const s of v.statuses.slice(-3)) lines.push(` => => ${s}`.slice(0, cols));
    }
    if (!final) {
      // keep the live frame within the terminal: the header and the most recent lines
      const rows = (this.out as { rows?: number }).rows || 24;
      if (lines.length > rows - 1) return [lines[0], ...lines.slice(lines.length - (rows - 2))].join('\n');
    }
    return lines.join('\n');
  }
  private render(): void {
    this.update?.(this.frame(false));
  }
  protected onStart(): void {}
  protected onLog(): void {}
  protected onStatus(): void {}
  protected onEnd(): void {}
  override async close(): Promise<void> {
    await this.ready;
    if (this.timer) clearInterval(this.timer);
    // the final state is printed in full (not through log-update, which clips to the screen)
    this.update?.clear?.();
    this.update?.done?.();
    this.out.write(`${this.frame(true)}\n`);
  }
}

/**
 * BuildKit's failure report for a vertex: the box with its last log lines, then the Dockerfile
 * snippet with `>>>` on the failing lines (errdefs.Source.Print's padding).
 */
export function formatFailure(opts: {
  vertexName: string;
  logs: string[];
  dockerfileName: string;
  dockerfileText?: string;
  line?: number;
  endLine?: number;
}): string {
  let out = '------\n';
  out += ` > ${opts.vertexName}:\n`;
  for (const l of opts.logs) out += `${l}\n`;
  out += '------\n';
  if (opts.dockerfileText !== undefined && opts.line !== undefined) {
    // like BuildKit, a final newline makes a last empty line that the snippet may show
    const lines = opts.dockerfileText.split('\n');
    let start = opts.line;
    let end = opts.endLine ?? opts.line;
    if (start >= 1 && start <= lines.length) {
      if (end > lines.length) end = lines.length;
      const pad = end === start ? 4 : 2;
      let p = 0;
      while (p < pad) {
        if (start > 1) {
          start--;
          p++;
        }
        if (end !== lines.length) {
          end++;
          p++;
        }
        p++;
      }
      out += `${opts.dockerfileName}:${opts.line === (opts.endLine ?? opts.line) ? opts.line : `${opts.line}-${opts.endLine}`}\n`;
      out += '--------------------\n';
      for (let i = start; i <= end; i++) {
        const mark = i >= opts.line && i <= (opts.endLine ?? opts.line) ? '>>>' : '   ';
        out += ` ${String(i).padStart(3)} | ${mark} ${lines[i - 1]}\n`;
      }
      out += '--------------------\n';
    }
  }
  return out;
}
