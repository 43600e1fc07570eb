/**
 * File operations for COPY and ADD: sources in one host root (the build context, or a stage's or
 * image's mounted root), written into another (a mounted stage root, or an empty dir for --link),
 * with the rules of `DOCKER_BUILDKIT=1 docker build` (fsutil copy as the Dockerfile frontend drives
 * it; the notes below were checked against Docker 26's BuildKit where it could run them).
 *
 * In: `CopyOptions` (srcRoot, sources as written, destRoot, absolute dest, flags). Out: the files in
 * destRoot, and a `CopyResult` (matched sources, entry and byte counts). Bad input: `UserError`.
 *
 * Rules:
 * - Every path is resolved inside its root (`resolveInRoot`): source symlinks are followed as the
 *   container would see them, never out of srcRoot; nothing is written through a destination symlink
 *   (an existing link in the way of a file is replaced, in the way of a directory is an error
 *   "cannot copy to non-directory", like BuildKit). The dest path itself is resolved with links
 *   followed (scoped), as BuildKit does.
 * - A directory source copies its CONTENTS. A non-directory source goes inside dest when dest is an
 *   existing directory or ends with `/` (which is created); otherwise dest is the file's new name.
 *   A dest whose last element is `.` (`/w/.`) is a directory too.
 * - Several sources / glob matches into a dest without `/`: no error, each is copied in turn and the
 *   last one wins (BuildKit; moby/buildkit#1853). The classic builder's "When using COPY with more
 *   than one source file, the destination must be a directory and end with a /" is not BuildKit's.
 * - Globs: Go filepath.Match per path, `*` and `?` never cross `/`, `*` matches dotfiles; a matched
 *   directory is not descended. A glob with no match copies nothing (no error, dest not created); a
 *   missing directory before the glob fails (`lstat /nodir: no such file or directory`); a missing
 *   literal source fails with
 *   `failed to compute cache key: failed to calculate checksum of ref: "/x": not found`.
 * - A symlink named directly as a source (or matched by a glob) is followed (scoped); symlinks inside
 *   copied trees are copied as symlinks. Hard links inside one source's tree stay hard links.
 * - Missing parents of dest are created 0755, owned by the --chown owner (else 0:0), mtime now.
 * - --chown names come from destRoot's (or `chownRoot`'s) /etc/passwd and /etc/group; as in
 *   BuildKit an unknown name is not an error (unknown user → 0:0, unknown group → user's gid).
 * - A 0/0 character device in a source root (an overlay whiteout in an unmounted snapshot) is absent.
 * - Ownership: --chown for every copied entry and created parent; otherwise context files get 0:0 and
 *   stage/image sources keep their uid/gid (`resetOwnership`).
 * - Modes and mtimes are kept from the source; --chmod (octal, or symbolic like `u+x,g-w`) replaces
 *   the mode of every copied entry except symlinks. A directory source's top directory in dest keeps
 *   its existing/created mode (0755) and gets the source's times.
 * - --parents: `a/./b/c` keeps `b/c` under dest; without a `/./` pivot the whole path is kept.
 * - --exclude: Docker patterns (like .dockerignore) relative to each source, and applied to what a
 *   glob matched (relative to srcRoot; Docker's `COPY --exclude=*.txt hom* /mydir/`); a literal
 *   source is never excluded itself. .dockerignore'd context paths do not exist for COPY (a
 *   directory re-included by a `!` pattern exists with just those children).
 * - ADD: a local tar (plain/gzip/bzip2/xz/zstd, detected by content) is extracted into dest (created
 *   as a directory); a URL is downloaded (mode 0600, Last-Modified as mtime, --checksum verified) and
 *   copied like a file named after the URL path. A git source (`https://h/r.git#ref:subdir`,
 *   `git@h:r.git`, BuildKit's query form) is checked out shallowly (submodules too, `.git` dropped
 *   unless --keep-git-dir, --checksum = commit prefix) and its tree copied 0:0 like a directory;
 *   `resolveGitCommit(src)` gives callers the commit for cache keys.
 * - Extended attributes of copied entries are copied (getfattr/setfattr through the image module),
 *   best effort like BuildKit; `trusted.overlay.*` and `security.selinux` are not.
 * - Not done: sockets are skipped.
 */
export { copyFiles, type CopyOptions, type CopyResult } from './copy.js';
export { resolveChown, parseChmod, applyMode, type Owner, type ModeSpec } from './owner.js';
export { goMatch, containsWildcards, splitWildcards } from './match.js';
export {
  patternMatcher,
  resolveSource,
  expandSources,
  hasWildcards,
  decide,
  notFound,
  type PathMatcher,
  type ResolvedSource,
  type TreeFilter,
  type SourceJob,
} from './sources.js';
export { isArchive } from './archive.js';
export { isUrl, isGitUrl, urlFileName } from './remote.js';
export { parseGitRef, resolveGitCommit, type GitRef } from './git.js';
