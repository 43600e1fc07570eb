/**
 * Image references, parsed and normalized exactly as Docker does (distribution/reference's
 * `ParseNormalizedNamed` + `TagNameOnly`): text in, a `Reference` out.
 *
 *   busybox                      → docker.io/library/busybox:latest
 *   user/app                     → docker.io/user/app:latest
 *   localhost:5000/x/y:1         → localhost:5000/x/y:1
 *   name@sha256:<64 hex>         → docker.io/library/name@sha256:…  (no tag added)
 *   name:tag@sha256:<64 hex>     → both kept; the digest wins when pulling
 *
 * A first path component is a registry host only when it contains `.` or `:`, is `localhost`,
 * or has upper-case letters (as Docker). Invalid input throws a one-line `UserError` naming the
 * reason (upper case, bad tag, bad digest, too long, 64-hex id, empty).
 */
import { UserError } from '../util/errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

// distribution/reference regexp.go, transcribed
const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|-+)'; // distribution writes [-]*; -+ is the same language without exponential backtracking in a backtracking engine
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domain = `${host}(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const namePattern = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const referenceRe = new RegExp(`^(${namePattern})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const anchoredIdentifierRe = /^[a-f0-9]{64}$/;
const tagRe = new RegExp(`^${tagPattern}$`);

export interface Reference {
  /** Registry host as written (docker.io for Docker Hub), with port if any. */
  registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  repository: string;
  tag?: string;
  digest?: string;
  /** `registry/repository` */
  name: string;
  /** Docker's short form: `busybox:latest`, `user/app:1`, `localhost:5000/x:y`. */
  familiar: string;
  /** the short form's name alone: `busybox`, `user/app`, `localhost:5000/x` */
  familiarName: string;
  /** Full form: `docker.io/library/busybox:latest` (tag and/or digest as present). */
  toString(): string;
}

function invalid(s: string, why: string): UserError {
  return new UserError(`invalid reference format: ${why}: ${JSON.stringify(s)}`);
}

function validateDigest(s: string, d: string): void {
  const i = d.indexOf(':');
  const alg = d.slice(0, i);
  const hex = d.slice(i + 1);
  const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  if (!(alg in lengths)) throw invalid(s, `unsupported digest algorithm "${alg}"`);
  if (hex.length !== lengths[alg]) throw invalid(s, `invalid checksum digest length for ${alg}`);
  if (!/^[a-f0-9]+$/.test(hex)) throw invalid(s, 'invalid checksum digest format (must be lower-case hex)');
}

function splitDockerDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let dom: string;
  let rest: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    dom = DEFAULT_DOMAIN;
    rest = name;
  } else {
    dom = first;
    rest = name.slice(i + 1);
  }
  if (dom === LEGACY_DEFAULT_DOMAIN) dom = DEFAULT_DOMAIN;
  if (dom === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_REPO_PREFIX + rest;
  return [dom, rest];
}

class Ref implements Reference {
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly tag: string | undefined,
    readonly digest: string | undefined,
  ) {}
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }
  get familiarName(): string {
    if (this.registry !== DEFAULT_DOMAIN) return this.name;
    return this.repository.startsWith(OFFICIAL_REPO_PREFIX) && this.repository.split('/').length === 2
      ? this.repository.slice(OFFICIAL_REPO_PREFIX.length)
      : this.repository;
  }
  private suffix(): string {
    return (this.tag ? `:${this.tag}` : '') + (this.digest ? `@${this.digest}` : '');
  }
  get familiar(): string {
    return this.familiarName + this.suffix();
  }
  toString(): string {
    return this.name + this.suffix();
  }
}

/**
 * Parses and normalizes a reference like `docker pull` does. `defaultTag` (default `latest`) is
 * added when neither a tag nor a digest is given; pass `null` to keep a bare name.
 */
export function parseReference(s: string, opts: { defaultTag?: string | null } = {}): Reference {
  if (s === '') throw new UserError('invalid reference format: repository name must have at least one component');
  if (s.length > 4096) throw invalid(s.slice(0, 40) + '…', 'reference is too long');
  if (anchoredIdentifierRe.test(s)) {
    throw new UserError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  // split the name from tag/digest the way ParseNormalizedNamed does, to lower-case-check the remote name
  let nameEnd = s.indexOf('@');
  if (nameEnd === -1) nameEnd = s.length;
  const lastColon = s.lastIndexOf(':', nameEnd);
  const lastSlash = s.lastIndexOf('/', nameEnd);
  const nameOnly = lastColon > lastSlash ? s.slice(0, lastColon) : s.slice(0, nameEnd);
  const [dom, remote] = splitDockerDomain(nameOnly);
  if (remote.toLowerCase() !== remote) throw invalid(s, 'repository name must be lowercase');
  const full = `${dom}/${remote}${s.slice(nameOnly.length)}`;
  const m = referenceRe.exec(full);
  if (!m) {
    if (s.includes('@')) {
      const d = s.slice(s.indexOf('@') + 1);
      if (!new RegExp(`^${digestPattern}$`).test(d)) throw invalid(s, 'invalid digest format');
    }
    if (lastColon > lastSlash && lastColon < nameEnd) {
      const t = s.slice(lastColon + 1, nameEnd);
      if (!tagRe.test(t)) throw invalid(s, 'invalid tag format');
    }
    throw invalid(s, 'not a valid image name');
  }
  const [, name, tag, digest] = m;
  if (name!.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(s, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (digest) validateDigest(s, digest);
  const slash = name!.indexOf('/');
  const registry = name!.slice(0, slash);
  const repository = name!.slice(slash + 1);
  const defaultTag = opts.defaultTag === undefined ? 'latest' : opts.defaultTag;
  const t = tag ?? (digest || defaultTag === null ? undefined : defaultTag);
  return new Ref(registry, repository, t, digest);
}

/** `parseReference` that returns undefined instead of throwing. */
export function tryParseReference(s: string): Reference | undefined {
  try {
    return parseReference(s);
  } catch {
    return undefined;
  }
}

/** Builds a reference from parts (tag/digest replaced). */
export function withTagOrDigest(ref: Reference, tag?: string, digest?: string): Reference {
  return new Ref(ref.registry, ref.repository, tag, digest);
}

/** The host the API lives on (Docker Hub's API is not at docker.io). */
export function apiHost(registry: string): string {
  return registry === DEFAULT_DOMAIN ? 'registry-1.docker.io' : registry;
}

/** The key Docker uses for a registry in config.json `auths` / credential helpers. */
export function authConfigKey(registry: string): string {
  return registry === DEFAULT_DOMAIN ? 'https://index.docker.io/v1/' : registry;
}

/**
 * Normalizes a `docker login` server argument (or a config.json key) to a registry host:
 * strips scheme and path; Docker Hub aliases become `docker.io`.
 */
export function normalizeRegistryHost(server: string): string {
  let h = server.trim().replace(/^[a-z]+:\/\//i, '');
  h = h.split('/')[0]!;
  if (h === 'index.docker.io' || h === 'registry-1.docker.io' || h === 'docker.io' || h === 'registry.hub.docker.com') return DEFAULT_DOMAIN;
  return h.toLowerCase();
}
