/**
 * Extended attributes through the `attr` package's tools (Node has no xattr API):
 * `readXattrsTree(dir)` runs ONE `getfattr -R -h -d -m - -e base64 --absolute-names` and returns
 * relative path → (name → raw value); `restoreXattrs(entries)` writes many at once with one
 * `setfattr -h --restore`. Paths use getfattr's \ooo octal quoting in both directions.
 */
import { spawn } from 'node:child_process';
import { writeFile, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';

function run(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(new Error(`${cmd}: ${e.message} (is the 'attr' package installed?)`)));
    p.on('close', (code) => {
      const r = { stdout: Buffer.concat(out), stderr: err, code: code ?? 1 };
      if (r.code !== 0 && !opts.allowFail) reject(new Error(`${cmd} failed: ${err.trim().split('\n')[0]}`));
      else resolve(r);
    });
  });
}

/** getfattr's quoting reversed: \ooo → byte */
function unquote(s: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as number;
    if (c === 0x5c && i + 3 < s.length + 0 && /^[0-7]{3}$/.test(s.subarray(i + 1, i + 4).toString('latin1'))) {
      out.push(parseInt(s.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else out.push(c);
  }
  return Buffer.from(out);
}

function quote(p: string): string {
  const b = Buffer.from(p);
  let s = '';
  for (const c of b) {
    const ch = String.fromCharCode(c);
    s += /[A-Za-z0-9._/+,:@%-]/.test(ch) ? ch : `\\${c.toString(8).padStart(3, '0')}`;
  }
  return s;
}

/** All xattrs under `dir` (symlinks not followed), keyed by path relative to dir ('' = dir itself). */
export async function readXattrsTree(dir: string): Promise<Map<string, Map<string, Buffer>>> {
  const abs = posix.resolve(dir);
  const r = await run('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', abs], { allowFail: true });
  if (r.code !== 0 && r.stdout.length === 0 && r.stderr.trim()) {
    // e.g. a filesystem without xattr support: treat as none
    if (!/Operation not supported/.test(r.stderr)) throw new Error(`getfattr failed: ${r.stderr.trim().split('\n')[0]}`);
  }
  const out = new Map<string, Map<string, Buffer>>();
  let cur: Map<string, Buffer> | undefined;
  let start = 0;
  const text = r.stdout;
  while (start < text.length) {
    let nl = text.indexOf(0x0a, start);
    if (nl < 0) nl = text.length;
    const line = text.subarray(start, nl);
    start = nl + 1;
    if (line.length === 0) continue;
    if (line.subarray(0, 8).toString('latin1') === '# file: ') {
      const p = unquote(line.subarray(8)).toString('utf8');
      const rel = p === abs ? '' : p.startsWith(`${abs}/`) ? p.slice(abs.length + 1) : undefined;
      cur = undefined;
      if (rel !== undefined) {
        cur = new Map();
        out.set(rel, cur);
      }
      continue;
    }
    if (!cur) continue;
    const s = line.toString('latin1');
    const eq = s.indexOf('=');
    const name = Buffer.from(eq < 0 ? s : s.slice(0, eq), 'latin1').toString('utf8');
    const v = eq < 0 ? '' : s.slice(eq + 1);
    let value: Buffer;
    if (v.startsWith('0s')) value = Buffer.from(v.slice(2), 'base64');
    else if (v.startsWith('0x')) value = Buffer.from(v.slice(2), 'hex');
    else if (v.startsWith('"') && v.endsWith('"')) value = unquote(Buffer.from(v.slice(1, -1), 'latin1'));
    else value = Buffer.from(v, 'latin1');
    cur.set(name, value);
  }
  return out;
}

/** Sets xattrs on many host paths with one setfattr call (symlinks themselves, not their targets). */
export async function restoreXattrs(entries: { path: string; attrs: Map<string, Buffer> }[], opts: { bestEffort?: boolean; scratchDir?: string } = {}): Promise<void> {
  if (entries.length === 0) return;
  let dump = '';
  for (const e of entries) {
    if (e.attrs.size === 0) continue;
    dump += `# file: ${quote(e.path)}\n`;
    for (const [k, v] of e.attrs) dump += `${k}=0s${v.toString('base64')}\n`;
    dump += '\n';
  }
  if (!dump) return;
  const f = join(opts.scratchDir ?? tmpdir(), `.xattrs-${process.pid}-${randomBytes(4).toString('hex')}`);
  await writeFile(f, dump);
  try {
    await run('setfattr', ['-h', `--restore=${f}`], { allowFail: opts.bestEffort });
  } finally {
    await unlink(f).catch(() => undefined);
  }
}
