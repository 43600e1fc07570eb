/**
 * Progress reporting for pulls and pushes: events in, terminal output out. On a TTY one bar per
 * blob is redrawn in place (log-update, throttled); otherwise plain lines are printed once per
 * state change, docker-style (`3f4a5b6c7d8e: Pull complete`), so logs stay readable in CI.
 * `silentProgress` discards everything (library callers, the build engine's own reporting).
 */

export interface ProgressSink {
  /** A blob starts (or is known); `total` in bytes. */
  begin(id: string, total: number, status: string): void;
  /** Bytes done so far for blob `id`. */
  update(id: string, done: number): void;
  /** A state change for blob `id` (`Retrying: …`, `Pull complete`, `Already exists`). */
  status(id: string, status: string): void;
  /** A line not tied to a blob. */
  note(line: string): void;
  /** Stops redrawing; leaves the final state on screen. */
  close(): void;
}

export const silentProgress: ProgressSink = {
  begin() {},
  update() {},
  status() {},
  note() {},
  close() {},
};

export function humanBytes(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)}${u[i]}`;
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

interface Row {
  id: string;
  total: number;
  done: number;
  status: string;
}

/** Plain lines: one per state change. */
export class LineProgress implements ProgressSink {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  begin(id: string, total: number, status: string): void {
    this.out.write(`${short(id)}: ${status}${total ? ` (${humanBytes(total)})` : ''}\n`);
  }
  update(): void {}
  status(id: string, status: string): void {
    this.out.write(`${short(id)}: ${status}\n`);
  }
  note(line: string): void {
    this.out.write(`${line}\n`);
  }
  close(): void {}
}

/**
 * Redraws a block of lines in place (cursor up + erase), each line cut to the terminal width so the
 * line count stays exact; `done()` leaves the last frame on screen. A few lines instead of log-update,
 * whose start-up cost (its width tables) every command would otherwise pay.
 */
function redrawInPlace(out: NodeJS.WriteStream): ((frame: string) => void) & { done(): void } {
  let shown = 0;
  const draw = (frame: string) => {
    const cols = Math.max(10, out.columns || 80);
    const lines = frame.split('\n').map((l) => (l.length > cols - 1 ? l.slice(0, cols - 1) : l));
    out.write(`${shown > 0 ? `\x1b[${shown}F\x1b[0J` : ''}${lines.join('\n')}\n`);
    shown = lines.length;
  };
  return Object.assign(draw, { done: () => void (shown = 0) });
}

/** Bars redrawn in place on a terminal. */
export class BarProgress implements ProgressSink {
  private rows = new Map<string, Row>();
  private log: ((frame: string) => void) & { done(): void };
  private timer?: NodeJS.Timeout;
  private dirty = false;
  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    // a pseudo-terminal can report 0x0 (script(1), some CI runners): log-update would then clip
    // everything away, so size-less terminals count as 80x24
    const sized = new Proxy(out, {
      get(t, p) {
        if (p === 'columns') return t.columns || 80;
        if (p === 'rows') return t.rows || 24;
        const v = Reflect.get(t, p) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    this.log = redrawInPlace(sized);
  }
  private schedule(): void {
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.render();
    }, 80);
  }
  private render(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const width = 30;
    const lines = [...this.rows.values()].map((r) => {
      if (r.status !== 'Downloading' && r.status !== 'Uploading') return `${short(r.id)}: ${r.status}`;
      const frac = r.total ? Math.min(1, r.done / r.total) : 0;
      const filled = Math.round(frac * width);
      const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled ? '>' : ''}${' '.repeat(width - filled)}]`;
      return `${short(r.id)}: ${r.status} ${bar} ${humanBytes(r.done)}/${humanBytes(r.total)}`;
    });
    this.log(lines.join('\n'));
  }
  begin(id: string, total: number, status: string): void {
    this.rows.set(id, { id, total, done: 0, status });
    this.schedule();
  }
  update(id: string, done: number): void {
    const r = this.rows.get(id);
    if (r) {
      r.done = done;
      this.schedule();
    }
  }
  status(id: string, status: string): void {
    const r = this.rows.get(id);
    if (r) r.status = status;
    else this.rows.set(id, { id, total: 0, done: 0, status });
    this.schedule();
  }
  note(line: string): void {
    this.render();
    this.log.done();
    this.out.write(`${line}\n`);
    this.rows.clear();
  }
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = true;
    this.render();
    this.log.done();
  }
}

/** Bars on a TTY, lines otherwise. */
export function createProgress(out: NodeJS.WriteStream = process.stdout): ProgressSink {
  return out.isTTY && !process.env.CI ? new BarProgress(out) : new LineProgress(out);
}
