/**
 * COPY/ADD file operation: copies sources from one host root into another, with BuildKit's rules
 * (fsutil `copy.Copy` with CopyDirContents + FollowLinks, as the Dockerfile frontend calls it).
 * See ./index.ts for the rule list and the public options.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  openSync,
  readSync,
  writeSync,
  constants as fsc,
  linkSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { posix } from 'node:path';
import { UserError } from '../../util/errors.js';
import { chownMapped } from '../../util/userns.js';
import { cleanPath, isWithin, resolveInRoot } from '../../util/fspath.js';
import { applyMode, parseChmod, resolveChown, type ModeSpec, type Owner } from './owner.js';
import { decide, expandSources, notFound, patternMatcher, relOf, sortedNames, tryLstat, type PathMatcher, type SourceJob, type TreeFilter } from './sources.js';
import { extractArchive, isArchive } from './archive.js';
import { readXattrsTree, restoreXattrs } from '../../image/index.js';
import { downloadUrl, isGitUrl, isUrl } from './remote.js';
import { checkoutGit, parseGitRef, type GitRef } from './git.js';

export interface CopyOptions {
  /** host directory the sources are read from: the context dir, or a stage/image root */
  srcRoot: string;
  /** source paths as written in the instruction (after variable expansion); globs allowed */
  sources: string[];
  /** inline sources (heredocs: `COPY <<EOF /dst`): a file named `path` with `data`, mode 0644 */
  contents?: { path: string; data: string | Buffer }[];
  /** host directory of the destination root (a mounted stage root, or an empty dir for --link) */
  destRoot: string;
  /** absolute container path (already resolved against WORKDIR); a trailing `/` means "a directory" */
  dest: string;
  /** context sources: the .dockerignore matcher (paths relative to srcRoot); ignored paths don't exist */
  ignore?: PathMatcher;
  /** context sources: files get uid/gid 0:0 (unless --chown); stage/image sources keep theirs */
  resetOwnership?: boolean;
  /** --chown value (`user[:group]`, names or ids), resolved in destRoot (or `chownRoot`) */
  chown?: string;
  /** where /etc/passwd and /etc/group for --chown names are read (default destRoot; for --link,
   *  whose destRoot is an empty dir, pass the stage's root) */
  chownRoot?: string;
  /** --chmod value (octal or symbolic) */
  chmod?: string;
  /** --parents */
  parents?: boolean;
  /** --exclude patterns */
  exclude?: string[];
  /** ADD semantics: URL sources, local archives auto-extracted */
  add?: boolean;
  /** ADD --unpack=false disables extraction of local archives (default: extract for ADD) */
  unpack?: boolean;
  /** ADD --checksum=sha256:... (URL sources only) */
  checksum?: string;
  /** ADD --keep-git-dir: keep the .git directory of a git source */
  keepGitDir?: boolean;
  /** instruction name used in messages */
  instruction?: 'COPY' | 'ADD';
  /** fetch implementation for ADD <url> (tests inject one); default globalThis.fetch */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface CopyResult {
  /** source matches as container paths in srcRoot (after following links), in copy order */
  sources: string[];
  /** entries written (files, dirs, links) and regular-file bytes copied */
  entries: number;
  bytes: number;
}

interface State {
  opts: CopyOptions;
  destRoot: string;
  srcRoot: string;
  chown?: Owner;
  mode?: ModeSpec;
  result: CopyResult;
}

function cpath(root: string, host: string): string {
  return `/${relOf(root, host)}`;
}

/** mkdir -p for a CONTAINER path in destRoot: 0755, chown if given, never through a link out. */
function mkdirAllContainer(st: State, p: string): string {
  const host = resolveInRoot(st.destRoot, cleanPath(p), true);
  mkdirAllHost(st, host);
  return host;
}

function mkdirAllHost(st: State, host: string): void {
  if (!isWithin(st.destRoot, host)) throw new Error(`internal: ${host} outside destination root`);
  const rel = relOf(st.destRoot, host);
  if (rel === '') return;
  let cur = posix.resolve(st.destRoot);
  for (const part of rel.split('/')) {
    cur = posix.join(cur, part);
    const s = tryLstat(cur);
    if (s) {
      if (s.isDirectory()) continue;
      throw new UserError(`mkdir ${cpath(st.destRoot, cur)}: not a directory`);
    }
    mkdirSync(cur, 0o755);
    chmodSync(cur, 0o755);
    const o = st.chown ?? { uid: 0, gid: 0 };
    chownMapped(() => lchownSync(cur, o.uid, o.gid), o.uid, o.gid, `COPY to ${cpath(st.destRoot, cur)}`);
    st.result.entries++;
  }
}

function ownerFor(st: State, s: Stats): Owner {
  if (st.chown) return st.chown;
  if (st.opts.resetOwnership) return { uid: 0, gid: 0 };
  return { uid: s.uid, gid: s.gid };
}

function copyFileInfo(st: State, s: Stats, target: string, w?: Walk, src?: string): void {
  if (w && src !== undefined) w.copied.push({ src, target });
  const o = ownerFor(st, s);
  chownMapped(() => lchownSync(target, o.uid, o.gid), o.uid, o.gid, `COPY to ${cpath(st.destRoot, target)}`);
  if (!s.isSymbolicLink()) {
    const base = s.mode & 0o7777;
    chmodSync(target, st.mode ? applyMode(st.mode, base, s.isDirectory()) : base);
  }
  lutimesSync(target, s.atime, s.mtime);
}

interface Pending {
  src: string;
  target: string;
  st: Stats;
  done: boolean;
}

interface Walk {
  filter: TreeFilter;
  /** path of the source in the context (for .dockerignore), '' = context root */
  rootRel: string;
  inodes: Map<string, string>;
  pending: Pending[];
  /** entries whose metadata was copied (xattrs are copied for these afterwards) */
  copied: { src: string; target: string }[];
}

function flushPending(st: State, w: Walk): void {
  for (const p of w.pending) {
    if (p.done) continue;
    const t = tryLstat(p.target);
    if (!t) {
      mkdirSync(p.target, 0o700);
      copyFileInfo(st, p.st, p.target, w, p.src);
      st.result.entries++;
    } else if (!t.isDirectory()) {
      throw new UserError(`cannot copy to non-directory: ${cpath(st.destRoot, p.target)}`);
    }
    p.done = true;
  }
}

/** `fresh`: the target's parent was just created by this copy, so the target cannot exist yet. */
function copyEntry(st: State, w: Walk, src: string, rel: string, target: string, overwrite: boolean, fresh = false): void {
  if (st.opts.signal?.aborted) throw st.opts.signal.reason ?? new Error('aborted');
  const s = lstatSync(src);
  // a 0/0 character device is an overlay whiteout (visible only in an unmounted snapshot dir): it
  // means "absent", never something to copy
  if (s.isCharacterDevice() && s.rdev === 0) return;
  if (rel !== '') {
    const rootRel = w.rootRel === '' ? rel : `${w.rootRel}/${rel}`;
    const d = decide(w.filter, rel, rootRel, s.isDirectory());
    if (!d.include) {
      if (d.descend) {
        w.pending.push({ src, target, st: s, done: false });
        for (const n of sortedNames(src)) copyEntry(st, w, posix.join(src, n), `${rel}/${n}`, posix.join(target, n), true);
        w.pending.pop();
      }
      return;
    }
  }
  flushPending(st, w);
  const t = fresh ? undefined : tryLstat(target);
  if (s.isDirectory()) {
    let created = false;
    if (!t) {
      mkdirSync(target, 0o700);
      created = true;
      st.result.entries++;
    } else if (!t.isDirectory()) {
      throw new UserError(`cannot copy to non-directory: ${cpath(st.destRoot, target)}`);
    } else if (overwrite) {
      chmodSync(target, s.mode & 0o7777);
    }
    // children are always included below an included directory, but filters still apply
    const saved = w.pending;
    w.pending = [];
    for (const n of sortedNames(src)) {
      copyEntry(st, w, posix.join(src, n), rel === '' ? n : `${rel}/${n}`, posix.join(target, n), true, created);
    }
    w.pending = saved;
    if (overwrite || created) copyFileInfo(st, s, target, w, src);
    else lutimesSync(target, s.atime, s.mtime); // the top directory: BuildKit keeps its mode, restores its times
    return;
  }
  if (t) {
    if (t.isDirectory()) throw new UserError(`cannot replace to directory ${cpath(st.destRoot, target)} with file`);
    unlinkSync(target);
  }
  if (s.isFile()) {
    const key = `${s.dev}:${s.ino}`;
    const linked = s.nlink > 1 ? w.inodes.get(key) : undefined;
    if (linked !== undefined) {
      linkSync(linked, target);
    } else {
      copyRegular(st, w, src, target, s);
      if (s.nlink > 1) w.inodes.set(key, target);
      return;
    }
  } else if (s.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), target);
  } else if (s.isFIFO()) {
    execFileSync('mkfifo', [target]);
  } else if (s.isCharacterDevice() || s.isBlockDevice()) {
    const major = Math.floor(s.rdev / 256) & 0xfff;
    const minor = (s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00);
    execFileSync('mknod', [target, s.isCharacterDevice() ? 'c' : 'b', String(major), String(minor)]);
  } else {
    return; // sockets: skipped (BuildKit fails on them; they cannot be meaningfully copied)
  }
  st.result.entries++;
  copyFileInfo(st, s, target, w, src);
}

const CHUNK = 1 << 20;
let chunkBuf: Buffer | undefined;

/**
 * A regular file, data and metadata through file descriptors: the source is opened with O_NOFOLLOW
 * (a file swapped for a symlink after the lstat cannot make us read outside the root), the target
 * with O_CREAT|O_EXCL|O_NOFOLLOW, and chown/chmod/utimes go to the open target.
 */
function copyRegular(st: State, w: Walk, src: string, target: string, s: Stats): void {
  const sfd = openSync(src, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    const dfd = openSync(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      chunkBuf ??= Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const n = readSync(sfd, chunkBuf, 0, CHUNK, null);
        if (n === 0) break;
        let off = 0;
        while (off < n) off += writeSync(dfd, chunkBuf, off, n - off);
        st.result.bytes += n;
      }
      const o = ownerFor(st, s);
      chownMapped(() => fchownSync(dfd, o.uid, o.gid), o.uid, o.gid, `COPY to ${cpath(st.destRoot, target)}`);
      const base = s.mode & 0o7777;
      fchmodSync(dfd, st.mode ? applyMode(st.mode, base, false) : base);
      futimesSync(dfd, s.atime, s.mtime);
    } finally {
      closeSync(dfd);
    }
  } finally {
    closeSync(sfd);
  }
  st.result.entries++;
  w.copied.push({ src, target });
}

/** Copies one resolved source (fsutil Copy for a single match). */
async function copyOne(st: State, srcHost: string, srcName: string, filter: TreeFilter, rootRel: string): Promise<void> {
  const dest = st.opts.dest;
  // fsutil: the parent of dest is created, or dest itself when its last element is '' or '.'
  const slash = dest.lastIndexOf('/');
  const last = dest.slice(slash + 1);
  mkdirAllContainer(st, last === '' || last === '.' ? dest : dest.slice(0, slash + 1));
  let dstHost = resolveInRoot(st.destRoot, cleanPath(dest), true);
  const s = lstatSync(srcHost);
  const d = tryLstat(dstHost);
  if (!s.isDirectory() && d?.isDirectory()) {
    let base = posix.basename(srcName);
    if (base === '' || base === '.' || base === '..') base = posix.basename(srcHost);
    dstHost = posix.join(dstHost, base);
  }
  if (!isWithin(st.destRoot, dstHost) || dstHost === posix.resolve(st.destRoot) && !s.isDirectory()) {
    throw new UserError(`${st.opts.instruction ?? 'COPY'}: invalid destination ${dest}`);
  }
  if (s.isDirectory() && !d) mkdirAllHost(st, dstHost);
  const w: Walk = { filter, rootRel, inodes: new Map(), pending: [], copied: [] };
  copyEntry(st, w, srcHost, '', dstHost, false);
  await copyXattrs(srcHost, w.copied);
}

/** Names never copied: overlayfs' own bookkeeping and SELinux labels belong to the host. */
const SKIP_XATTR = /^(trusted\.overlay\.|user\.overlay\.|security\.selinux$)/;

/** Copies extended attributes (e.g. security.capability) of the copied entries, one getfattr/setfattr each. */
async function copyXattrs(srcHost: string, copied: { src: string; target: string }[]): Promise<void> {
  if (copied.length === 0) return;
  let tree: Map<string, Map<string, Buffer>>;
  try {
    tree = await readXattrsTree(srcHost);
  } catch {
    return; // best effort, like BuildKit's xattr error handler
  }
  if (tree.size === 0) return;
  const base = posix.resolve(srcHost);
  const todo: { path: string; attrs: Map<string, Buffer> }[] = [];
  for (const c of copied) {
    const rel = c.src === base ? '' : c.src.slice(base.length + 1);
    const attrs = tree.get(rel);
    if (!attrs) continue;
    const keep = new Map([...attrs].filter(([k]) => !SKIP_XATTR.test(k)));
    if (keep.size > 0) todo.push({ path: c.target, attrs: keep });
  }
  try {
    await restoreXattrs(todo);
  } catch {
    // best effort
  }
}

function copyError(e: unknown): never {
  if (e instanceof UserError) throw e;
  if (e instanceof Error && /too many levels of symbolic links/.test(e.message)) throw new UserError(e.message, { cause: e });
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string') throw new UserError(`failed to copy files: ${err.code}: ${err.message.split('\n')[0]}`, { cause: e });
  throw e;
}

/**
 * Runs one COPY/ADD. Resolves and validates everything (sources, --chown, --chmod) before writing.
 */
export async function copyFiles(opts: CopyOptions): Promise<CopyResult> {
  const instr = opts.instruction ?? (opts.add ? 'ADD' : 'COPY');
  if (!opts.dest.startsWith('/')) throw new UserError(`${instr}: destination must be an absolute path: ${opts.dest}`);
  const st: State = {
    opts,
    destRoot: posix.resolve(opts.destRoot),
    srcRoot: posix.resolve(opts.srcRoot),
    result: { sources: [], entries: 0, bytes: 0 },
  };
  if (opts.chmod !== undefined && opts.chmod !== '') st.mode = parseChmod(opts.chmod);
  if (opts.chown !== undefined && opts.chown !== '') st.chown = resolveChown(opts.chown, opts.chownRoot ?? st.destRoot);
  if (opts.checksum) {
    if (!opts.add) throw new UserError("checksum can't be specified for COPY");
    if (opts.sources.length !== 1) throw new UserError("checksum can't be specified for multiple sources");
    if (!isUrl(opts.sources[0]) && !isGitUrl(opts.sources[0])) throw new UserError('checksum requires HTTP(S) or Git sources');
  }
  type Job = { kind: 'local'; job: SourceJob; archive: boolean } | { kind: 'url'; url: string } | { kind: 'git'; src: string; ref: GitRef };
  const jobs: Job[] = [];
  const local: string[] = [];
  const flushLocal = async (): Promise<void> => {
    let expanded: SourceJob[];
    try {
      expanded = expandSources(st.srcRoot, local, { ignore: opts.ignore, parents: opts.parents, exclude: opts.exclude });
    } catch (e) {
      copyError(e);
    }
    for (const j of expanded) {
      const archive = !!opts.add && opts.unpack !== false && !opts.parents && j.st.isFile() && (await isArchive(j.host));
      jobs.push({ kind: 'local', job: j, archive });
    }
    local.length = 0;
  };
  for (const src of opts.sources) {
    const gitRef = parseGitRef(src);
    if (gitRef) {
      if (!opts.add) throw new UserError("source can't be a git ref for COPY");
      await flushLocal();
      jobs.push({ kind: 'git', src, ref: gitRef });
      continue;
    }
    if (isUrl(src)) {
      if (!opts.add) throw new UserError("source can't be a URL for COPY");
      await flushLocal();
      jobs.push({ kind: 'url', url: src });
      continue;
    }
    local.push(src);
  }
  await flushLocal();
  let tmp: string | undefined;
  try {
    for (const job of jobs) {
      if (job.kind === 'git') {
        tmp ??= mkdtempSync(posix.join(tmpdir(), 'stagecraft-add-'));
        const co = await checkoutGit(job.ref, mkdtempSync(posix.join(tmp, 'git-')), { keepGitDir: opts.keepGitDir, checksum: opts.checksum, signal: opts.signal });
        st.result.sources.push(job.src);
        const sub: State = { ...st, opts: { ...opts, resetOwnership: true } };
        const exclude = opts.exclude && opts.exclude.length > 0 ? patternMatcher(opts.exclude) : undefined;
        try {
          await copyOne(sub, co.root, '', { exclude }, '');
        } catch (e) {
          copyError(e);
        }
        continue;
      }
      if (job.kind === 'url') {
        tmp ??= mkdtempSync(posix.join(tmpdir(), 'stagecraft-add-'));
        const dl = await downloadUrl(job.url, tmp, { checksum: opts.checksum, fetch: opts.fetch, signal: opts.signal });
        st.result.sources.push(job.url);
        const sub: State = { ...st, opts: { ...opts, resetOwnership: true } };
        try {
          await copyOne(sub, dl.host, dl.name, {}, '');
        } catch (e) {
          copyError(e);
        }
        continue;
      }
      st.result.sources.push(job.job.resolved);
      if (job.archive) {
        const dstHost = mkdirAllContainer(st, opts.dest);
        try {
          await extractArchive(job.job.host, dstHost);
        } catch (e) {
          if (e instanceof UserError) throw e;
          throw new UserError(`failed to extract ${job.job.resolved}: ${(e as Error).message}`, { cause: e });
        }
        continue;
      }
      try {
        await copyOne(st, job.job.host, job.job.name, job.job.filter, job.job.rootRel);
      } catch (e) {
        copyError(e);
      }
    }
    if (opts.contents && opts.contents.length > 0) {
      tmp ??= mkdtempSync(posix.join(tmpdir(), 'stagecraft-add-'));
      const inline = mkdtempSync(posix.join(tmp, 'inline-'));
      for (const c of opts.contents) {
        const rel = cleanPath(c.path).slice(1);
        if (rel === '') throw new UserError(`${instr}: invalid heredoc file name: ${c.path}`);
        const host = resolveInRoot(inline, `/${rel}`);
        mkdirSync(posix.dirname(host), { recursive: true });
        writeFileSync(host, c.data, { mode: 0o644 });
        chmodSync(host, 0o644);
        const sub: State = { ...st, opts: { ...opts, resetOwnership: true } };
        try {
          await copyOne(sub, host, rel, {}, '');
        } catch (e) {
          copyError(e);
        }
      }
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  return st.result;
}

/** sha256 hex of a buffer (small helper shared with tests). */
export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

export { notFound };
