/**
 * ADD <git repository>: BuildKit's git source as the Dockerfile frontend uses it.
 *
 * In: a source such as `https://host/org/repo.git#ref:subdir`, `git@host:org/repo.git#v1`,
 * `ssh://…`, `git://…`, optionally with BuildKit's query form (`?ref=`, `tag=`, `branch=`,
 * `subdir=`, `checksum=`/`commit=`, `keep-git-dir=`, `submodules=`). Out: a checkout in a scratch
 * directory (shallow fetch of the ref, or HEAD; submodules updated unless `submodules=false`; `.git`
 * removed unless --keep-git-dir), whose contents (or the subdir's) are then copied like a directory
 * source owned by 0:0. `--checksum` / `checksum=` must be a prefix of the checked-out commit.
 * Runs the `git` CLI with prompts disabled; plain `http://` URLs without `.git` are not git.
 */
import { spawn } from 'node:child_process';
import { lstatSync, rmSync } from 'node:fs';
import { UserError } from '../../util/errors.js';
import { resolveInRoot } from '../../util/fspath.js';

export interface GitRef {
  remote: string;
  ref?: string;
  subdir?: string;
  checksum?: string;
  keepGitDir?: boolean;
  submodules?: boolean;
}

const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)/;

function splitFragmentQuery(src: string): { base: string; query: string; fragment: string } {
  let rest = src;
  let fragment = '';
  const h = rest.indexOf('#');
  if (h >= 0) {
    fragment = rest.slice(h + 1);
    rest = rest.slice(0, h);
  }
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  return { base: rest, query, fragment };
}

/** Parses a git source; undefined when `src` is not one (BuildKit's dfgitutil.ParseGitRef). */
export function parseGitRef(src: string): GitRef | undefined {
  const { base, query, fragment } = splitFragmentQuery(src);
  let isGit = false;
  if (SCP_LIKE.test(base) || /^git:\/\//.test(base) || /^ssh:\/\//.test(base)) isGit = true;
  else if (/^https?:\/\//.test(base)) {
    try {
      isGit = new URL(base).pathname.replace(/\/+$/, '').endsWith('.git');
    } catch {
      isGit = false;
    }
  }
  if (!isGit) return undefined;
  const ref: GitRef = { remote: base };
  if (fragment) {
    const c = fragment.indexOf(':');
    const r = c >= 0 ? fragment.slice(0, c) : fragment;
    const sd = c >= 0 ? fragment.slice(c + 1) : '';
    if (r) ref.ref = r;
    if (sd) ref.subdir = sd;
  }
  if (query) {
    let tag = '';
    let branch = '';
    for (const [k, v] of new URLSearchParams(query)) {
      const bool = (): boolean => {
        if (v === '' || v === 'true' || v === '1') return true;
        if (v === 'false' || v === '0') return false;
        throw new UserError(`invalid ${k} value: "${v}"`);
      };
      if (k === 'ref') ref.ref = v;
      else if (k === 'tag') tag = v.startsWith('refs/tags/') ? v : `refs/tags/${v}`;
      else if (k === 'branch') branch = v.startsWith('refs/heads/') ? v : `refs/heads/${v}`;
      else if (k === 'subdir') ref.subdir = v;
      else if (k === 'checksum' || k === 'commit') ref.checksum = v;
      else if (k === 'keep-git-dir') ref.keepGitDir = bool();
      else if (k === 'submodules') ref.submodules = bool();
      else throw new UserError(`unexpected query "${k}"`);
    }
    if (tag && branch) throw new UserError('branch conflicts with tag');
    if (tag || branch) ref.ref = tag || branch;
    if (ref.checksum && !ref.ref) ref.ref = ref.checksum;
  }
  return ref;
}

function git(args: string[], opts: { cwd?: string; signal?: AbortSignal } = {}): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn('git', args, {
      cwd: opts.cwd,
      signal: opts.signal,
      // never wait for a password or a host-key prompt
      env: { GIT_SSH_COMMAND: 'ssh -o BatchMode=yes', ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', (e) => rej(new UserError(`git: ${e.message}`, { cause: e })));
    p.on('close', (code) => {
      if (code === 0) res(out.trim());
      else rej(new UserError(`git ${args[0]} failed: ${(err.trim().split('\n').pop() ?? '').trim() || `exit ${code}`}`));
    });
  });
}

/** Clones `ref` into the empty directory `dir`; returns the directory to copy and the commit. */
export async function checkoutGit(
  ref: GitRef,
  dir: string,
  opts: { keepGitDir?: boolean; checksum?: string; signal?: AbortSignal } = {},
): Promise<{ root: string; commit: string }> {
  const keep = opts.keepGitDir ?? ref.keepGitDir ?? false;
  const checksum = opts.checksum ?? ref.checksum;
  if (opts.checksum && ref.checksum && opts.checksum !== ref.checksum) {
    throw new UserError(`checksum mismatch "${opts.checksum}" != "${ref.checksum}"`);
  }
  const s = { cwd: dir, signal: opts.signal };
  await git(['init', '-q'], s);
  await git(['remote', 'add', 'origin', ref.remote], s);
  const want = ref.ref ?? 'HEAD';
  try {
    await git(['fetch', '-q', '--depth', '1', '--no-tags', 'origin', want], s);
    await git(['checkout', '-q', 'FETCH_HEAD'], s);
  } catch (e) {
    // a commit that the server will not serve shallowly: fetch everything, then check it out
    if (!/^[0-9a-f]{7,40}$/.test(want)) throw e;
    await git(['fetch', '-q', '--tags', 'origin'], s);
    await git(['checkout', '-q', want], s);
  }
  const commit = await git(['rev-parse', 'HEAD'], s);
  if (checksum && !commit.startsWith(checksum)) {
    throw new UserError(`expected checksum to match ${checksum}, got ${commit}`);
  }
  if (ref.submodules !== false) {
    let hasModules = false;
    try {
      hasModules = lstatSync(`${dir}/.gitmodules`).isFile();
    } catch {
      hasModules = false;
    }
    if (hasModules) await git(['submodule', 'update', '--init', '--recursive', '--depth', '1'], s);
  }
  if (!keep) rmSync(`${dir}/.git`, { recursive: true, force: true });
  let root = dir;
  if (ref.subdir) {
    root = resolveInRoot(dir, ref.subdir, true);
    let ok = false;
    try {
      ok = lstatSync(root).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) throw new UserError(`subdir ${ref.subdir} not found in ${ref.remote}`);
  }
  return { root, commit };
}

/** The commit a git source currently names (`git ls-remote`), for cache keys. */
export async function resolveGitCommit(src: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
  const ref = parseGitRef(src);
  if (!ref) throw new UserError(`not a git source: ${src}`);
  if (ref.ref && /^[0-9a-f]{40}$/.test(ref.ref)) return ref.ref;
  const out = await git(['ls-remote', ref.remote, ref.ref ?? 'HEAD'], { signal: opts.signal });
  const lines = out.split('\n').filter(Boolean);
  // prefer the peeled tag (refs/tags/x^{}) so an annotated tag names its commit
  const peeled = lines.find((l) => l.endsWith('^{}'));
  const first = (peeled ?? lines[0] ?? '').split(/\s+/)[0];
  if (!/^[0-9a-f]{40}$/.test(first)) throw new UserError(`git ref ${ref.ref ?? 'HEAD'} not found in ${ref.remote}`);
  return first;
}
