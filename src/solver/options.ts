/**
 * Build options as the engine takes them, and the parsers that turn the `build` command's flag
 * strings (`--secret id=x,src=f`, `--output type=oci,dest=f`, `--build-context name=docker-image://r`,
 * `--build-arg K[=V]`, `--label K=V`) into them. Pure; bad input is a one-line UserError.
 */
import type { Writable, Readable } from 'node:stream';
import { UserError } from '../util/errors.js';
import { parseLayerCompression, type LayerCompression } from '../image/layer-export.js';
import type { ProgressMode } from './progress.js';
import type { SshSpec } from './ssh.js';

export interface SecretSpec {
  id: string;
  src?: string;
  env?: string;
}

export interface OutputSpec {
  type: 'image' | 'oci' | 'docker' | 'local' | 'tar';
  dest?: string;
  name?: string;
  push?: boolean;
  /** `compression=`, `compression-level=`, `force-compression=`: how layers leave (push, oci, docker) */
  compression?: LayerCompression;
  /** `oci-mediatypes=` (oci, docker): OCI or Docker schema2 media types (default: OCI for oci, Docker for docker) */
  ociMediaTypes?: boolean;
}

export type NamedContext = { kind: 'dir'; path: string } | { kind: 'image'; ref: string } | { kind: 'oci'; path: string; ref?: string };

export type CacheMode = 'min' | 'max';

/** `--cache-to type=local,dest=DIR | type=registry,ref=REF [,mode=min|max]` (written by cacheio.ts / cacheregistry.ts) */
export type CacheToSpec = { type: 'local'; dest: string; mode: CacheMode } | { type: 'registry'; ref: string; mode: CacheMode; insecure?: boolean };

/** `--cache-from type=local,src=DIR | type=registry,ref=REF | REF` */
export type CacheFromSpec = { type: 'local'; src: string } | { type: 'registry'; ref: string; insecure?: boolean };

export interface BuildOptions {
  contextDir: string;
  /** path of the Dockerfile; '-' = read `dockerfileText` (stdin) */
  dockerfile?: string;
  dockerfileText?: string;
  tags: string[];
  target?: string;
  buildArgs: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  secrets: SecretSpec[];
  /** `--ssh`: agents RUN --mount=type=ssh can use (see ssh.ts) */
  ssh?: SshSpec[];
  progress: ProgressMode;
  outputs: OutputSpec[];
  push: boolean;
  labels: Record<string, string>;
  iidfile?: string;
  /** RUN's network: `default` is the worker's default (worker/exec/network.ts) */
  network: 'default' | 'host' | 'none' | 'slirp4netns';
  buildContexts: Record<string, NamedContext>;
  /** `--cache-to type=local,dest=DIR[,mode=min|max]` (see cacheio.ts) */
  cacheTo?: CacheToSpec[];
  /** `--cache-from type=local,src=DIR` */
  cacheFrom?: CacheFromSpec[];
  storeRoot?: string;
  /** where progress goes (default process.stderr) */
  progressStream?: Writable & { isTTY?: boolean; columns?: number };
  /** where `dest=-` exporters write (default process.stdout) */
  stdout?: Writable;
  stdin?: Readable;
  signal?: AbortSignal;
}

/** `a=b,c=d` → {a:'b', c:'d'} (values may contain '='). */
export function parseCsvKv(s: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    if (part === '') continue;
    const i = part.indexOf('=');
    if (i <= 0) throw new UserError(`invalid ${what}: ${JSON.stringify(s)} (expected key=value pairs)`);
    out[part.slice(0, i).trim().toLowerCase()] = part.slice(i + 1);
  }
  return out;
}

export function parseSecret(s: string): SecretSpec {
  const kv = parseCsvKv(s, '--secret');
  const id = kv.id;
  if (!id) throw new UserError(`invalid --secret ${JSON.stringify(s)}: id= is required`);
  const src = kv.src ?? kv.source;
  const env = kv.env;
  const type = kv.type;
  if (type && type !== 'file' && type !== 'env') throw new UserError(`invalid --secret type ${JSON.stringify(type)}`);
  if (src === undefined && env === undefined) {
    // docker: a bare id reads the env var of that name, else the file of that name
    if (type === 'file') return { id, src: id };
    return { id, env: id };
  }
  return { id, src, env };
}

export function parseOutput(s: string): OutputSpec {
  if (s === '-') return { type: 'tar', dest: '-' };
  if (!s.includes('=')) return { type: 'local', dest: s };
  const kv = parseCsvKv(s, '--output');
  const type = (kv.type ?? 'local') as OutputSpec['type'];
  if (!['image', 'oci', 'docker', 'local', 'tar'].includes(type)) {
    throw new UserError(`unsupported --output type ${JSON.stringify(type)} (image, oci, docker, local, tar)`);
  }
  if ((type === 'local' || type === 'tar') && !kv.dest) throw new UserError(`--output type=${type} needs dest=PATH`);
  const o: OutputSpec = { type, dest: kv.dest };
  if (kv.name) o.name = kv.name;
  if (kv.push !== undefined) o.push = /^(1|true)$/i.test(kv.push);
  const c = parseLayerCompression(kv);
  if (c) o.compression = c;
  const mt = kv['oci-mediatypes'];
  if (mt !== undefined) {
    // as BuildKit: an empty value is true
    if (!/^(true|false|1|0|)$/i.test(mt)) throw new UserError(`non-bool value ${mt} specified for oci-mediatypes`);
    o.ociMediaTypes = !/^(false|0)$/i.test(mt);
  }
  return o;
}

export function parseBuildContext(s: string): [string, NamedContext] {
  const i = s.indexOf('=');
  if (i <= 0) throw new UserError(`invalid --build-context ${JSON.stringify(s)} (expected NAME=PATH|docker-image://REF|oci-layout://PATH)`);
  const name = s.slice(0, i);
  const v = s.slice(i + 1);
  if (v.startsWith('docker-image://')) return [name, { kind: 'image', ref: v.slice('docker-image://'.length) }];
  if (v.startsWith('oci-layout://')) {
    let p = v.slice('oci-layout://'.length);
    let ref: string | undefined;
    const at = p.lastIndexOf('@');
    const colon = p.lastIndexOf(':');
    if (at > p.lastIndexOf('/')) {
      ref = p.slice(at + 1);
      p = p.slice(0, at);
    } else if (colon > p.lastIndexOf('/')) {
      ref = p.slice(colon + 1);
      p = p.slice(0, colon);
    }
    return [name, { kind: 'oci', path: p, ref }];
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) throw new UserError(`unsupported --build-context source ${JSON.stringify(v)}`);
  return [name, { kind: 'dir', path: v }];
}

/** `K=V` → [K, V]; a bare `K` takes the value of $K (and is skipped when unset), like docker. */
export function parseBuildArg(s: string, env: NodeJS.ProcessEnv = process.env): [string, string] | undefined {
  const i = s.indexOf('=');
  if (i === 0) throw new UserError(`invalid --build-arg ${JSON.stringify(s)}`);
  if (i < 0) return env[s] === undefined ? undefined : [s, env[s] as string];
  return [s.slice(0, i), s.slice(i + 1)];
}

export function parseLabel(s: string): [string, string] {
  const i = s.indexOf('=');
  if (i === 0) throw new UserError(`invalid --label ${JSON.stringify(s)}`);
  if (i < 0) return [s, ''];
  return [s.slice(0, i), s.slice(i + 1)];
}

const INLINE_WHY =
  "type=inline is not supported by the local engine: BuildKit's inline cache lives in the image config (and changes the image ID); use type=registry,ref=REF (or --engine buildkit)";

function cacheKv(s: string, flag: string): Record<string, string> {
  // like buildx, a bare value is a registry reference
  const kv = s.includes('=') ? parseCsvKv(s, flag) : { type: 'registry', ref: s };
  const type = kv.type ?? 'local';
  if (type === 'inline' && flag === '--cache-to') throw new UserError(`${flag} ${INLINE_WHY}`);
  if (type !== 'local' && type !== 'registry') throw new UserError(`${flag} type=${type} is not supported (type=local, type=registry)`);
  kv.type = type;
  return kv;
}

function cacheMode(kv: Record<string, string>): CacheMode {
  const mode = kv.mode ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw new UserError(`invalid --cache-to mode ${JSON.stringify(mode)} (min, max)`);
  return mode;
}

function registryRef(s: string, flag: string, kv: Record<string, string>): { ref: string; insecure?: boolean } {
  if (!kv.ref) throw new UserError(`invalid ${flag} ${JSON.stringify(s)}: type=registry needs ref=NAME[:TAG]`);
  const insecure = /^(1|true)$/i.test(kv['registry.insecure'] ?? '');
  return insecure ? { ref: kv.ref, insecure } : { ref: kv.ref };
}

export function parseCacheTo(s: string): CacheToSpec {
  const kv = cacheKv(s, '--cache-to');
  if (kv.type === 'registry') return { type: 'registry', ...registryRef(s, '--cache-to', kv), mode: cacheMode(kv) };
  if (!kv.dest) throw new UserError(`invalid --cache-to ${JSON.stringify(s)}: type=local needs dest=DIR`);
  return { type: 'local', dest: kv.dest, mode: cacheMode(kv) };
}

export function parseCacheFrom(s: string): CacheFromSpec {
  const kv = cacheKv(s, '--cache-from');
  if (kv.type === 'registry') return { type: 'registry', ...registryRef(s, '--cache-from', kv) };
  if (!kv.src) throw new UserError(`invalid --cache-from ${JSON.stringify(s)}: type=local needs src=DIR`);
  return { type: 'local', src: kv.src };
}
