/** Tree builders and dumpers for the file-operation specs (plain temp dirs, no store, no CLI). */
import { lstatSync, mkdirSync, mkdtempSync, rmSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, chmodSync, lchownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
/** A fresh temp dir (prefix `sc-fo-…`), removed after the spec file's tests (unless STAGECRAFT_KEEP_TMP). */
export function tmpDir(prefix = 'sc-fo-'): string {
  const p = prefix.startsWith('sc-fo-') ? prefix : `sc-fo-${prefix.replace(/^sc-/, '')}`;
  const d = mkdtempSync(join(tmpdir(), p));
  made.push(d);
  return d;
}
// registered in each spec file that imports this module (vitest re-evaluates it per file)
afterAll(() => {
  if (process.env.STAGECRAFT_KEEP_TMP) return;
  for (const d of made.splice(0)) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // leave it
    }
  }
});

export type Spec =
  | string // file content
  | { file: string; mode?: number; uid?: number; gid?: number; mtime?: number }
  | { dir: true; mode?: number; uid?: number; gid?: number; mtime?: number }
  | { link: string };

/** Creates `files` under `root` (parents made 0755). Directories listed explicitly get their attrs last. */
export function makeTree(root: string, files: Record<string, Spec>): string {
  const dirs: [string, Extract<Spec, { dir: true }>][] = [];
  for (const [p, spec] of Object.entries(files)) {
    const host = join(root, p);
    mkdirSync(dirname(host), { recursive: true });
    if (typeof spec === 'string') writeFileSync(host, spec);
    else if ('link' in spec) symlinkSync(spec.link, host);
    else if ('file' in spec) {
      writeFileSync(host, spec.file);
      if (spec.mode !== undefined) chmodSync(host, spec.mode);
      if (spec.uid !== undefined) lchownSync(host, spec.uid, spec.gid ?? spec.uid);
      if (spec.mtime !== undefined) utimesSync(host, spec.mtime, spec.mtime);
    } else {
      mkdirSync(host, { recursive: true });
      dirs.push([host, spec]);
    }
  }
  for (const [host, spec] of dirs.reverse()) {
    if (spec.mode !== undefined) chmodSync(host, spec.mode);
    if (spec.uid !== undefined) lchownSync(host, spec.uid, spec.gid ?? spec.uid);
    if (spec.mtime !== undefined) utimesSync(host, spec.mtime, spec.mtime);
  }
  return root;
}

/** `path → "type mode uid:gid [content|-> target]"`, sorted, relative to root. */
export function dumpTree(root: string, opts: { mtime?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const n of readdirSync(dir).sort()) {
      const h = join(dir, n);
      const r = rel ? `${rel}/${n}` : n;
      const s = lstatSync(h);
      const mode = (s.mode & 0o7777).toString(8);
      let v = `${mode} ${s.uid}:${s.gid}`;
      if (s.isDirectory()) v = `dir ${v}`;
      else if (s.isSymbolicLink()) v = `link ${v} -> ${readlinkSync(h)}`;
      else v = `file ${v} ${JSON.stringify(readFileSync(h, 'utf8'))}`;
      if (opts.mtime) v += ` @${Math.floor(s.mtimeMs / 1000)}`;
      out[r] = v;
      if (s.isDirectory()) walk(h, r);
    }
  };
  walk(root, '');
  return out;
}
