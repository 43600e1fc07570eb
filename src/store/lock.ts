/**
 * Cross-process locks on the store, implemented with the kernel's flock(2). Node has no flock
 * binding, so each stagecraft process starts ONE small bash "lock server" on first use and talks
 * to it over a pipe: `x|s NAME` opens `locks/NAME.lock` on a new fd and tries `flock -n` on it
 * (answering `ok ID`, `busy`, or `err ...` when flock is missing or fails: an error, never a retry
 * that would wait forever), `u ID` closes the fd. Blocking is done here, by retrying with a
 * short backoff, so the server never blocks and one lock never waits behind another.
 *
 * Because the kernel drops a lock when its fd closes, and the server exits (closing every fd) when
 * our end of the pipe closes, a SIGKILLed stagecraft never leaves a stale lock behind: no pid files
 * to clean up, no timeouts to guess. Two holders in one process conflict like two processes do
 * (flock locks belong to the open file description, and every acquisition opens the file anew).
 *
 * Exclusive locks serialize index updates and snapshot unpacking; the shared "gc" lease is held by
 * any process that writes blobs (from its first write until exit or `release`), and garbage
 * collection takes it exclusively so it never deletes a blob that a running build just wrote but has
 * not referenced yet.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';

export interface HeldLock {
  release(): Promise<void>;
}

type Server = ChildProcessByStdio<Writable, Readable, null>;

// One request at a time per line; answers come back in order.
const SERVER = `
declare -A fds
while IFS=' ' read -r op arg; do
  case "$op" in
    x|s)
      if exec {fd}>>"$arg" 2>/dev/null; then
        flock -n "-$op" "$fd" 2>/dev/null; rc=$?
        if [ "$rc" = 0 ]; then fds[$fd]=1; echo "ok $fd"
        else
          exec {fd}>&-
          case "$rc" in
            1) echo busy ;;
            127) echo "err flock (util-linux) is not installed or not on PATH" ;;
            *) echo "err flock exited $rc" ;;
          esac
        fi
      else echo "err cannot open $arg"; fi ;;
    u) if [ -n "\${fds[$arg]}" ]; then exec {arg}>&-; unset "fds[$arg]"; fi; echo done ;;
    *) echo "err bad request" ;;
  esac
done
`;

class LockServer {
  private child: Server;
  private buf = '';
  private waiting: Array<(line: string) => void> = [];
  private dead?: Error;

  constructor() {
    this.child = spawn('bash', ['--noprofile', '--norc', '-c', SERVER], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.waiting.shift()?.(line);
      }
      this.updateRef();
    });
    this.child.stdin.on('error', () => undefined);
    const fail = (e: Error) => {
      this.dead = e;
      for (const w of this.waiting.splice(0)) w(`err ${e.message}`);
    };
    this.child.on('error', (e) => fail(new Error(`cannot start the store lock helper (bash): ${e.message}`)));
    this.child.on('close', () => fail(new Error('the store lock helper exited')));
    this.updateRef();
  }

  /** The server must not keep the process alive by itself, only while a request is in flight. */
  private updateRef(): void {
    const busy = this.waiting.length > 0;
    const handles = [this.child, this.child.stdout, this.child.stdin] as unknown as Array<{ ref?: () => void; unref?: () => void }>;
    for (const h of handles) (busy ? h.ref : h.unref)?.call(h);
  }

  request(line: string): Promise<string> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.waiting.push((answer) => (answer.startsWith('err ') ? reject(new Error(answer.slice(4))) : resolve(answer)));
      this.updateRef();
      this.child.stdin.write(`${line}\n`);
    });
  }
}

let server: LockServer | undefined;
function lockServer(): LockServer {
  server ??= new LockServer();
  return server;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Takes `locks/NAME.lock`. `shared` = a shared lock; `waitMs` = give up after that long (0 = try
 * once); resolves undefined when not acquired in time. `daemon` is accepted for compatibility: no
 * lock ever keeps the process alive.
 */
export async function acquireLock(lockDir: string, name: string, opts: { shared?: boolean; waitMs?: number; daemon?: boolean } = {}): Promise<HeldLock | undefined> {
  const file = join(lockDir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
  if (/[\n]/.test(file)) throw new Error(`invalid lock path: ${file}`);
  const srv = lockServer();
  const deadline = opts.waitMs === undefined ? Infinity : Date.now() + opts.waitMs;
  let backoff = 1;
  for (;;) {
    let answer: string;
    try {
      answer = await srv.request(`${opts.shared ? 's' : 'x'} ${file}`);
    } catch (e) {
      // the helper or flock itself is missing or broken: an error of the host, not a bug
      throw new UserError(`cannot take store lock ${file}: ${(e as Error).message}`, { exitCode: 125 });
    }
    if (answer.startsWith('ok ')) {
      const fd = answer.slice(3);
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await srv.request(`u ${fd}`).catch(() => undefined);
        },
      };
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(Math.min(backoff, Math.max(0, deadline - Date.now())));
    backoff = Math.min(backoff * 2, 25);
  }
}

/** Runs fn while holding the exclusive lock NAME. */
export async function withFileLock<T>(lockDir: string, name: string, fn: () => Promise<T>): Promise<T> {
  const l = await acquireLock(lockDir, name);
  if (!l) throw new Error(`lock ${name} not acquired`);
  try {
    return await fn();
  } finally {
    await l.release();
  }
}
