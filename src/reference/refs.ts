/**
 * Image names as the store keeps them: docker's "familiar" form, always with a tag
 * (`busybox` → `busybox:latest`, `docker.io/library/busybox:1.36` → `busybox:1.36`,
 * `localhost:5000/app` → `localhost:5000/app:latest`), made from the one reference parser. Pure.
 */
import { UserError } from '../util/errors.js';
import { parseReference } from './reference.js';

export interface ParsedRef {
  /** familiar repository: `busybox`, `localhost:5000/app`, `ghcr.io/x/y` */
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses a reference with THE parser (reference.ts, Docker's rules); throws UserError("invalid
 * reference format...") when it is not one. No default tag is added here.
 */
export function parseRef(s: string): ParsedRef {
  const r = parseReference(s, { defaultTag: null });
  return { repository: r.familiarName, tag: r.tag, digest: r.digest };
}

/** `name[:tag]` → `name:tag` with `latest` by default (digest references are returned as `name@digest`). */
export function normalizeRef(s: string): string {
  const r = parseRef(s);
  if (r.digest && !r.tag) return `${r.repository}@${r.digest}`;
  return `${r.repository}:${r.tag ?? 'latest'}`;
}

/** A reference usable as a tag (no digest). */
export function normalizeTag(s: string): string {
  const r = parseRef(s);
  if (r.digest) throw new UserError(`refusing to create a tag with a digest reference: ${s}`);
  return `${r.repository}:${r.tag ?? 'latest'}`;
}

/** `busybox:latest` → ['busybox', 'latest'] */
export function splitRef(ref: string): [string, string] {
  const c = ref.lastIndexOf(':');
  if (c > ref.lastIndexOf('/')) return [ref.slice(0, c), ref.slice(c + 1)];
  return [ref, 'latest'];
}

/** Fully qualified name, as docker's containerd store writes `io.containerd.image.name`. */
export function qualifiedRef(ref: string): string {
  const [repo, tag] = splitRef(ref);
  const first = repo.split('/')[0] as string;
  const hasDomain = repo.includes('/') && (/[.:]/.test(first) || first === 'localhost');
  if (hasDomain) return `${repo}:${tag}`;
  return repo.includes('/') ? `docker.io/${repo}:${tag}` : `docker.io/library/${repo}:${tag}`;
}
