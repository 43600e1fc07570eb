/**
 * Image names as the store keeps them: docker's "familiar" form, always with a tag
 * (`busybox` → `busybox:latest`, `docker.io/library/busybox:1.36` → `busybox:1.36`,
 * `localhost:5000/app` → `localhost:5000/app:latest`). Pure string functions.
 */
import { UserError } from '../util/errors.js';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ParsedRef {
  /** familiar repository: `busybox`, `localhost:5000/app`, `ghcr.io/x/y` */
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses a reference; throws UserError("invalid reference format...") when it is not one. */
export function parseRef(s: string): ParsedRef {
  const bad = (why = ''): never => {
    throw new UserError(`invalid reference format${why ? `: ${why}` : ''}: ${JSON.stringify(s)}`);
  };
  if (!s || s.length > 4096) bad();
  let rest = s;
  let digest: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) bad('bad digest');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad('bad tag');
  }
  const parts = rest.split('/');
  let domain: string | undefined;
  if (parts.length > 1 && (/[.:]/.test(parts[0] as string) || parts[0] === 'localhost' || /[A-Z]/.test(parts[0] as string))) {
    domain = parts.shift() as string;
    if (!DOMAIN.test(domain)) bad('bad registry host');
  }
  if (parts.length === 0) bad();
  for (const p of parts) {
    if (!COMPONENT.test(p)) bad(/[A-Z]/.test(p) ? 'repository name must be lowercase' : '');
  }
  let path = parts.join('/');
  // distribution's limit on the whole name (domain included), as build -t and pull apply it
  if ((domain ? `${domain}/${path}` : path).length > 255) bad('repository name must not be more than 255 characters');
  if (domain === 'docker.io' || domain === 'index.docker.io') {
    domain = undefined;
    if (path.startsWith('library/') && parts.length === 2) path = path.slice(8);
  }
  const repository = domain ? `${domain}/${path}` : path;
  return { repository, tag, digest };
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
