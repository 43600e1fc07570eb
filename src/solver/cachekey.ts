/**
 * Content-addressed cache keys. In: the parent step's key, the step's action with every argument
 * expanded, the content digests of its inputs (context files, the source stage's key, mount
 * sources). Out: `sha256:<hex>`. Secrets and ssh agents never enter a key; mtimes never do either.
 */
import { createHash } from 'node:crypto';
import type { Action, ParsedMount } from './dispatch.js';

/** JSON with sorted object keys, so equal values hash equally. */
export function stableStringify(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`).join(',')}}`;
}

export function digestOf(v: unknown): string {
  return `sha256:${createHash('sha256').update(typeof v === 'string' ? v : stableStringify(v)).digest('hex')}`;
}

/** Key of a stage's starting point: the base image (by manifest digest) or scratch, plus platform. */
export function baseKey(base: { kind: 'image'; manifestDigest: string } | { kind: 'scratch' }, platform: string): string {
  return digestOf({ v: 1, base, platform });
}

/**
 * What of a mount goes into a key: everything but secrets (and the secret's content). An ssh
 * mount enters with its Dockerfile options only (id, target, mode, uid, gid, required, as
 * BuildKit's SSHOpt does); which agent or socket `--ssh` gave it has no place in a ParsedMount.
 */
export function mountKeyPart(m: ParsedMount, sourceDigest?: string): unknown {
  if (m.type === 'secret') return null;
  return { ...m, sourceDigest };
}

/**
 * The key of a layer-making step. `inputs` carries content digests: for COPY the digest of the
 * selected context files or the source stage's key; for RUN the digests of bind-mount sources.
 */
export function stepKey(parent: string, action: Action, inputs: Record<string, string | undefined>): string {
  let a: unknown = action;
  if (action.type === 'run') {
    a = {
      ...action,
      mounts: action.mounts.map((m, i) => mountKeyPart(m, inputs[`mount${i}`])).filter((x) => x !== null),
    };
  }
  return digestOf({ v: 1, parent, action: a, inputs });
}
