/**
 * OCI whiteout names (image-spec layer.md): `.wh.NAME` deletes NAME below, `.wh..wh..opq` hides
 * what lower layers put in its directory. The same `.wh.NAME` file also stands for a whiteout in an
 * overlay upper dir of a store where mknod of a char 0/0 device is refused (worker/snapshot/upper.ts):
 * the layer writer, the extractor, fsck and the snapshotters read that form through here.
 */
import { basename, dirname, join } from 'node:path';

export const WH_PREFIX = '.wh.';
export const WH_OPAQUE = '.wh..wh..opq';

/** NAME when `name` is a `.wh.NAME` whiteout (not the opaque marker, not `.wh.` alone), else undefined. */
export function whiteoutFileTarget(name: string): string | undefined {
  return name.startsWith(WH_PREFIX) && name.length > WH_PREFIX.length && name !== WH_OPAQUE ? name.slice(WH_PREFIX.length) : undefined;
}

/** The `.wh.NAME` file beside `path` that whites it out in the file form. */
export function whiteoutFileOf(path: string): string {
  return join(dirname(path), WH_PREFIX + basename(path));
}
