/**
 * Finds the host programs the runtimes call (unshare, mount, setpriv, runc, ...) once, by absolute
 * path, so nothing depends on the PATH a container's environment carries.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../util/errors.js';

const cache = new Map<string, string | undefined>();
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function findHostBinary(name: string): string | undefined {
  if (cache.has(name)) return cache.get(name);
  let found: string | undefined;
  for (const dir of `${process.env.PATH ?? ''}:${SYSTEM_PATH}`.split(':')) {
    if (!dir.startsWith('/')) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      found = p;
      break;
    } catch {
      /* next */
    }
  }
  cache.set(name, found);
  return found;
}

export function requireHostBinary(name: string, pkg: string): string {
  const p = findHostBinary(name);
  if (!p) throw new UserError(`${name} not found on this host (install ${pkg})`, { exitCode: 125 });
  return p;
}
