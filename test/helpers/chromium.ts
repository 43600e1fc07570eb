/**
 * Headless Chromium driven over the Chrome DevTools protocol with Node only: `--remote-debugging-pipe`
 * (requests on fd 3, answers on fd 4, NUL-separated JSON), a fresh profile per browser. A page is a
 * target attached in flat mode: navigate, wait for load, evaluate, screenshot. Killed by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { tmp } from './index.js';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
export const CHROME_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Msg = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

export class Browser {
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private listeners: Array<(m: Msg) => void> = [];
  private constructor(
    private readonly proc: ChildProcess,
    private readonly input: Writable,
  ) {}

  static launch(): Promise<Browser> {
    if (!CHROMIUM) throw new Error('chromium is not installed');
    const profile = mkdtempSync(join(tmp('sc-chrome-'), 'p'));
    const proc = spawn(CHROMIUM, [...CHROME_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] });
    const b = new Browser(proc, proc.stdio[3] as Writable);
    let buf = Buffer.alloc(0);
    (proc.stdio[4] as Readable).on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (let z = buf.indexOf(0); z >= 0; z = buf.indexOf(0)) {
        const m = JSON.parse(buf.subarray(0, z).toString('utf8')) as Msg;
        buf = buf.subarray(z + 1);
        b.dispatch(m);
      }
    });
    return new Promise((resolve, reject) => {
      proc.on('error', reject);
      b.send('Browser.getVersion').then(() => resolve(b), reject);
    });
  }

  private dispatch(m: Msg): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error.message));
      else p?.resolve(m.result ?? {});
      return;
    }
    for (const l of this.listeners) l(m);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  waitFor(method: string, sessionId: string, timeoutMs = 30_000): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${method}`)), timeoutMs);
      const l = (m: Msg) => {
        if (m.method === method && m.sessionId === sessionId) {
          clearTimeout(t);
          this.listeners = this.listeners.filter((x) => x !== l);
          resolve(m);
        }
      };
      this.listeners.push(l);
    });
  }

  /** A page of `width` x `height` CSS pixels showing `url`, loaded. */
  async open(url: string, width: number, height: number): Promise<Page> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    await this.send('Page.enable', {}, sessionId);
    await this.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false }, sessionId);
    const loaded = this.waitFor('Page.loadEventFired', sessionId);
    await this.send('Page.navigate', { url }, sessionId);
    await loaded;
    return new Page(this, sessionId);
  }

  async close(): Promise<void> {
    await this.send('Browser.close').catch(() => undefined);
    await new Promise<void>((r) => {
      if (this.proc.exitCode !== null) return r();
      const t = setTimeout(() => {
        if (this.proc.pid) process.kill(this.proc.pid, 'SIGKILL');
        r();
      }, 5000);
      this.proc.on('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
}

export class Page {
  constructor(
    private readonly b: Browser,
    private readonly session: string,
  ) {}

  /** Evaluates an expression in the page; the value comes back as JSON. */
  async eval<T>(expression: string): Promise<T> {
    const r = (await this.b.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.session)) as { result: { value: T }; exceptionDetails?: { exception?: { description?: string }; text: string } };
    if (r.exceptionDetails) throw new Error(`in page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** A PNG of the whole page (beyond the viewport), written to `file`. */
  async screenshot(file: string): Promise<number> {
    const { data } = (await this.b.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, this.session)) as { data: string };
    const png = Buffer.from(data, 'base64');
    writeFileSync(file, png);
    return png.length;
  }
}
