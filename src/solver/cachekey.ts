/**
 * Content-addressed cache keys. In: the parent step's key, the step's action with every argument
 * expanded, the content digests of its inputs (context files, the source stage's key, mount
 * sources). Out: `sha256:<hex>`. Secret values and ssh agents never enter a key; mtimes never do either.
 */
import { createHash } from 'node:crypto';
import type { Action } from './dispatch.js';

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
 * The key of a layer-making step. `inputs` carries content digests: for COPY the digest of the
 * selected context files or the source stage's key; for RUN the digests of bind-mount sources.
 */
export function stepKey(parent: string, action: Action, inputs: Record<string, string | undefined>): string {
  let a: unknown = action;
  if (action.type === 'run') {
    a = {
      ...action,
      // every mount with its Dockerfile options, as BuildKit's ExecOp keeps its mounts (SecretOpt,
      // SSHOpt: id, target, mode, uid, gid, required) in the op it hashes, plus the content digest
      // of a bind or cache source. A secret's value and the agent or socket `--ssh` gave have no
      // place in a ParsedMount, so a changed secret value does not re-run a step.
      mounts: action.mounts.map((m, i) => ({ ...m, sourceDigest: inputs[`mount${i}`] })),
    };
  }
  return digestOf({ v: 1, parent, action: a, inputs });
}
