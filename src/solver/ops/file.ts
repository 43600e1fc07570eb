/**
 * File operations of a build: COPY/ADD (through the worker's `copyFiles`, BuildKit's rules) and the
 * directories WORKDIR creates. In: the dispatched action, the step's rootfs and, for COPY, its
 * opened source. Out: the files in the rootfs (the step's overlay upper holds the change).
 */
import { chmod, chown, lstat, mkdir } from 'node:fs/promises';
import { UserError } from '../../util/errors.js';
import { resolveInRoot } from '../../util/fspath.js';
import * as deps from '../deps.js';
import type { CopyAction, WorkdirAction } from '../dispatch.js';
import type { Source } from '../sources.js';

export async function execCopy(action: CopyAction, root: string, srcRoot: string, src: Source, signal: AbortSignal): Promise<void> {
  await deps.copyFiles({
    srcRoot,
    sources: action.srcs,
    contents: action.inline.map((x) => ({ path: x.name, data: x.data })),
    destRoot: root,
    dest: action.dest,
    ignore: src.fromContext ? src.ignore : undefined,
    resetOwnership: src.fromContext,
    chown: action.chown,
    chmod: action.chmod,
    parents: action.parents,
    exclude: action.exclude,
    add: action.add,
    checksum: action.checksum,
    keepGitDir: action.keepGitDir,
    unpack: action.unpack,
    instruction: action.add ? 'ADD' : 'COPY',
    signal,
  });
}

/**
 * The owner of the directories WORKDIR makes, as BuildKit's mkdir with the USER: the user's ids
 * from the image's passwd/group; a numeric user (and group) not listed there as the numbers; a
 * user name the image does not know: 0:0, and the build goes on.
 */
export function workdirOwner(root: string, user: string): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  try {
    const u = deps.resolveUser(root, user);
    // a numeric user the passwd does not list: BuildKit's mkdir gives the dir that id as gid too
    if (u.name === undefined && /^[0-9]+$/.test(user)) return { uid: u.uid, gid: u.uid };
    return { uid: u.uid, gid: u.gid };
  } catch {
    const [u, g] = user.split(':');
    if (/^[0-9]+$/.test(u ?? '') && (g === undefined || /^[0-9]+$/.test(g))) {
      const uid = Number(u);
      return { uid, gid: g === undefined ? uid : Number(g) };
    }
    return { uid: 0, gid: 0 };
  }
}

export async function execWorkdir(action: WorkdirAction, root: string): Promise<void> {
  const { uid, gid } = workdirOwner(root, action.user);
  const parts = action.path.split('/').filter((p) => p !== '' && p !== '.');
  let cur = '/';
  for (const p of parts) {
    cur = cur === '/' ? `/${p}` : `${cur}/${p}`;
    const host = resolveInRoot(root, cur, true);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw new UserError(`mkdir ${cur}: not a directory`);
    await mkdir(host, { mode: 0o755 });
    await chmod(host, 0o755);
    if (uid !== 0 || gid !== 0) await chown(host, uid, gid);
  }
}
