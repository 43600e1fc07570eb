/**
 * Scoped path resolution (like Go's securejoin / moby's FollowSymlinkInScope): turns a path that is
 * meant to live inside `root` into a host path that is guaranteed to be inside `root`, following
 * symlinks as the container would see them (an absolute link target is relative to `root`, `..`
 * never climbs above `root`). Every file operation on an untrusted tree (layer extraction, COPY,
 * ADD, bind-mount targets) goes through here.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';

const MAX_LINKS = 255;

/** Lexically cleans `p` as an absolute container path: `/a/../b/./c/` → `/b/c`. Never escapes `/`. */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/**
 * Resolves container path `p` inside host directory `root`. Symlinks in every component are followed
 * within the root; the last component is followed only when `followFinal` is true (lstat semantics
 * otherwise). Missing components are fine: the rest is appended lexically. Returns a host path.
 */
export function resolveInRoot(root: string, p: string, followFinal = false): string {
  const rootAbs = posix.resolve(root);
  let pending = cleanPath(p).split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = posix.join(rootAbs, ...resolved, part);
    const isLast = pending.length === 0;
    if (isLast && !followFinal) {
      resolved.push(part);
      break;
    }
    let st;
    try {
      st = lstatSync(candidate);
    } catch {
      resolved.push(part);
      continue;
    }
    if (!st.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`too many levels of symbolic links: ${p}`);
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...target.split('/').filter(Boolean), ...pending];
  }
  return posix.join(rootAbs, ...resolved);
}

/** True when host path `p` is `root` itself or lies inside it (lexically). */
export function isWithin(root: string, p: string): boolean {
  const r = posix.resolve(root);
  const q = posix.resolve(p);
  return q === r || q.startsWith(r.endsWith('/') ? r : `${r}/`);
}
