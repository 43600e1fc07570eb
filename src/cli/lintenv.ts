/**
 * Base images' `Env` for lint's UndefinedVar, read from the local store (images already pulled or
 * built): the linter itself never touches disk. Unknown images stay unknown (no UndefinedVar there).
 */
import { baseImages, type LintOptions } from '../lint/index.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRoot, Store } from '../store/index.js';

export async function storeImageEnv(text: string, opts: Pick<LintOptions, 'file' | 'buildArgs'>): Promise<LintOptions['imageEnv']> {
  return (await storeImageEnvs(text, opts)).imageEnv;
}

/** The same, and whether the store had every base image (then a build cannot change what lint sees). */
export async function storeImageEnvs(text: string, opts: Pick<LintOptions, 'file' | 'buildArgs'>): Promise<{ imageEnv: LintOptions['imageEnv']; complete: boolean }> {
  const refs = baseImages(text, opts);
  if (refs.length === 0) return { imageEnv: undefined, complete: true };
  const envs = new Map<string, readonly string[]>();
  // lint never creates a store: only an existing one is read
  if (!existsSync(join(defaultRoot(), 'oci-layout'))) return { imageEnv: undefined, complete: false };
  let store: Store;
  try {
    store = await Store.open();
  } catch {
    return { imageEnv: undefined, complete: false };
  }
  for (const ref of refs) {
    try {
      const img = await store.resolveImage(ref);
      if (img) envs.set(ref, img.config.config?.Env ?? []);
    } catch {
      /* not in the store: unknown */
    }
  }
  return { imageEnv: (ref) => envs.get(ref), complete: envs.size === new Set(refs).size };
}
