/**
 * What the user namespace this process runs in allows. In: /proc/self/{uid_map,gid_map,setgroups}.
 * Out: whether we are in a non-initial user namespace (a rootless build re-exec'd by
 * worker/exec/rootless.ts, or root in an unprivileged container), which IDs are mapped, and the
 * xattr namespace overlayfs uses there (`user.overlay.*` with the `userxattr` mount option, since
 * `trusted.*` needs CAP_SYS_ADMIN in the initial namespace). Read once per process.
 */
import { readFileSync } from 'node:fs';
import { UserError } from './errors.js';

/** One line of /proc/PID/uid_map: IDs [inner, inner+count) are host IDs [outer, outer+count). */
export interface IdRange {
  inner: number;
  outer: number;
  count: number;
}

const FULL = 4294967295;

function readMap(kind: 'uid' | 'gid'): IdRange[] {
  try {
    return readFileSync(`/proc/self/${kind}_map`, 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter((f) => f.length === 3 && f.every((n) => Number.isFinite(n)))
      .map(([inner, outer, count]) => ({ inner: inner!, outer: outer!, count: count! }));
  } catch {
    return [{ inner: 0, outer: 0, count: FULL }];
  }
}

let maps: { uid: IdRange[]; gid: IdRange[] } | undefined;
function idMaps(): { uid: IdRange[]; gid: IdRange[] } {
  maps ??= { uid: readMap('uid'), gid: readMap('gid') };
  return maps;
}

/** True in a user namespace other than the initial one (its uid_map is not the identity over all IDs). */
export function inUserNamespace(): boolean {
  const m = idMaps().uid;
  return !(m.length === 1 && m[0]!.inner === 0 && m[0]!.outer === 0 && m[0]!.count === FULL);
}

/** How many IDs of `kind` this namespace maps (1: the single-ID fallback without /etc/subuid ranges). */
export function mappedCount(kind: 'uid' | 'gid'): number {
  return idMaps()[kind].reduce((n, r) => n + r.count, 0);
}

export function isMapped(kind: 'uid' | 'gid', id: number): boolean {
  return idMaps()[kind].some((r) => id >= r.inner && id < r.inner + r.count);
}

/** False when setgroups(2) is denied (a single-ID mapping written without newgidmap). */
export function setgroupsAllowed(): boolean {
  try {
    return readFileSync('/proc/self/setgroups', 'utf8').trim() !== 'deny';
  } catch {
    return true;
  }
}

/** The xattr prefix overlayfs uses for its bookkeeping (opaque dirs) in this namespace. */
export function overlayXattrPrefix(): 'user.overlay.' | 'trusted.overlay.' {
  return inUserNamespace() ? 'user.overlay.' : 'trusted.overlay.';
}

/** The xattr that marks an opaque directory in an overlay upper/lower dir, here. */
export function overlayOpaqueXattr(): string {
  return `${overlayXattrPrefix()}opaque`;
}

/** True for overlayfs bookkeeping xattrs (either namespace, or fuse-overlayfs' own): never part of a layer. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.') || name.startsWith('user.fuseoverlayfs.');
}

/**
 * The one error for an ID the user namespace does not map (chown of a layer file, a USER, a
 * --chown). Names what to configure: subordinate ID ranges in /etc/subuid and /etc/subgid.
 */
export function unmappedIdError(kind: 'uid' | 'gid', id: number, what: string): UserError {
  const user = process.env.STAGECRAFT_ROOTLESS_USER || 'USER';
  const file = kind === 'uid' ? '/etc/subuid' : '/etc/subgid';
  return new UserError(
    `${what} needs ${kind} ${id}, which is not mapped in this rootless user namespace (${mappedCount(kind)} ${kind}${mappedCount(kind) === 1 ? '' : 's'} mapped): ` +
      `give ${user} a subordinate ID range in ${file} (e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user})`,
    { exitCode: 1 },
  );
}

/**
 * Runs a chown; in a user namespace its EINVAL (an ID the namespace does not map) becomes
 * `unmappedIdError` naming /etc/subuid or /etc/subgid. `what`: the file or step that needs it.
 */
export function chownMapped(chown: () => void, uid: number, gid: number, what: string): void {
  try {
    chown();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL' || !inUserNamespace()) throw e;
    throw isMapped('uid', uid) ? unmappedIdError('gid', gid, what) : unmappedIdError('uid', uid, what);
  }
}

/** Throws `unmappedIdError` when a process of uid/gid/groups could not run in this user namespace. */
export function checkMappedUser(uid: number, gid: number, groups: number[], what: string): void {
  if (!inUserNamespace()) return;
  if (!isMapped('uid', uid)) throw unmappedIdError('uid', uid, what);
  for (const g of [gid, ...(setgroupsAllowed() ? groups : [])]) if (!isMapped('gid', g)) throw unmappedIdError('gid', g, what);
}
