/**
 * ADD <url>: downloads one HTTP(S) source into a scratch directory the way BuildKit's http source
 * does: file name = last element of the URL path (`__unnamed__` when there is none), mode 0600,
 * uid/gid 0, mtime = the response's Last-Modified when present, optional `--checksum=sha256:<hex>`
 * verified before anything is written to the image. Remote archives are NOT extracted (Docker rule).
 * Git sources (`git@…`, `git://`, `ssh://`, `https://….git`) are not URLs here: see ./git.ts.
 */
import { createHash } from 'node:crypto';
import { chmodSync, utimesSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { UserError } from '../../util/errors.js';
import { parseGitRef } from './git.js';

export function isGitUrl(src: string): boolean {
  try {
    return parseGitRef(src) !== undefined;
  } catch {
    return true; // a git source with a bad query: parseGitRef reports it when it is used
  }
}

export function isUrl(src: string): boolean {
  return (src.startsWith('http://') || src.startsWith('https://')) && !isGitUrl(src);
}

/** The file name BuildKit's frontend gives a URL source. */
export function urlFileName(src: string): string {
  try {
    const u = new URL(src);
    const base = decodeURIComponent(posix.basename(u.pathname));
    // never a name that could step out of the destination directory
    if (base !== '' && base !== '.' && base !== '..' && !base.includes('/') && !base.includes('\0')) return base;
  } catch {
    // fall through
  }
  return '__unnamed__';
}

export async function downloadUrl(
  url: string,
  dir: string,
  opts: { checksum?: string; fetch?: typeof fetch; signal?: AbortSignal } = {},
): Promise<{ host: string; name: string; digest: string }> {
  let want: string | undefined;
  if (opts.checksum) {
    const m = /^sha256:([0-9a-f]{64})$/.exec(opts.checksum);
    if (!m) throw new UserError(`invalid checksum digest format: ${opts.checksum}`);
    want = m[1];
  }
  const f = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(url, { redirect: 'follow', signal: opts.signal });
  } catch (e) {
    throw new UserError(`failed to load ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (!res.ok) throw new UserError(`failed to load ${url}: invalid response status ${res.status}`);
  const data = Buffer.from(await res.arrayBuffer());
  const digest = createHash('sha256').update(data).digest('hex');
  if (want && want !== digest) throw new UserError(`digest mismatch sha256:${digest}: ${opts.checksum}`);
  const name = urlFileName(url);
  const host = posix.join(dir, name);
  writeFileSync(host, data, { mode: 0o600 });
  chmodSync(host, 0o600);
  const lm = res.headers.get('last-modified');
  const t = lm ? Date.parse(lm) : NaN;
  if (!Number.isNaN(t)) utimesSync(host, t / 1000, t / 1000);
  return { host, name, digest: `sha256:${digest}` };
}
