/**
 * A client for one registry speaking the OCI distribution API (`/v2/`): repository + digest in,
 * verified bytes out (and the reverse for pushes). It combines the transport (`http.ts`: scheme,
 * TLS, retries) with authorization (`auth.ts`: 401 challenges, tokens per scope):
 *
 * - `getManifest` — GET with every manifest media type we read; the digest of the exact bytes is
 *   computed and checked against a digest reference.
 * - `downloadBlob` — streams a blob to a file while hashing it; on a dropped connection it resumes
 *   with `Range: bytes=N-` (a 200 answer restarts from zero), and a digest or size mismatch is
 *   retried and finally refused. The file is only reported good after the digest matched.
 * - `hasBlob`, `mountBlob`, `uploadBlob` (monolithic PUT, or PATCH chunks + PUT), `putManifest`.
 *
 * Registry error bodies (`{"errors":[{code,message}]}`) become one-line `UserError`s.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { UserError } from '../util/errors.js';
import { MediaType } from '../image/types.js';
import { Authorizer, displayRegistry, type Credentials } from './auth.js';
import { apiHost } from '../reference/reference.js';
import {
  attemptsOf,
  defaultRetryPolicy,
  discard,
  isCertificateError,
  isLoopbackHost,
  isNamedInsecure,
  isPlainHttpServerError,
  isRetryableNetworkError,
  isRetryableStatus,
  rawRequest,
  readBody,
  retryAfterMs,
  RetryableError,
  withRetries,
  type HttpResponse,
  type RetryPolicy,
} from './http.js';

export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.DockerManifestList, MediaType.OciManifest, MediaType.DockerManifest].join(', ');

export interface ClientOptions {
  /** Registries (host[:port]) that may use plain HTTP or unverified TLS. */
  insecureRegistries?: string[];
  /** Use these instead of the docker config file. */
  credentials?: Credentials;
  retry?: Partial<RetryPolicy>;
  /** Called with a one-line note when a request is retried. */
  onRetry?: (what: string, why: string, delayMs: number) => void;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export const pullScope = (repo: string) => `repository:${repo}:pull`;
export const pushScope = (repo: string) => `repository:${repo}:pull,push`;

function digestOf(bytes: Buffer, alg = 'sha256'): string {
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}

function shortDigest(d: string): string {
  return d.replace(/^sha256:/, '').slice(0, 12);
}

const clients = new Map<string, RegistryClient>();

export class RegistryClient {
  readonly auth: Authorizer;
  private base?: Promise<URL>;
  private readonly insecure: boolean;
  private readonly policy: RetryPolicy;
  /** Counters for tests and summaries. */
  readonly stats = { requests: 0, retries: 0, bytesDownloaded: 0, bytesUploaded: 0 };

  constructor(
    readonly registry: string,
    private readonly opts: ClientOptions = {},
  ) {
    this.insecure = isNamedInsecure(registry, opts.insecureRegistries);
    this.auth = new Authorizer(registry, { insecureTls: this.insecure }, opts.credentials);
    this.policy = { ...defaultRetryPolicy(), ...opts.retry };
  }

  /** One shared client per registry + options in this process (tokens and scheme are reused). */
  static for(registry: string, opts: ClientOptions = {}): RegistryClient {
    if (opts.credentials || opts.retry || opts.onRetry) return new RegistryClient(registry, opts);
    const key = `${registry}|${(opts.insecureRegistries ?? []).join(',')}`;
    let c = clients.get(key);
    if (!c) clients.set(key, (c = new RegistryClient(registry, opts)));
    return c;
  }

  /** The API base URL: https, or http for loopback/insecure registries that do not speak TLS. */
  endpoint(): Promise<URL> {
    this.base ??= this.probe();
    return this.base;
  }

  private async probe(): Promise<URL> {
    const host = apiHost(this.registry);
    const https = new URL(`https://${host}/`);
    const mayUseHttp = this.insecure || isLoopbackHost(host);
    try {
      const res = await withRetries({ ...this.policy, attempts: Math.min(this.policy.attempts, 3) }, () =>
        rawRequest(new URL('/v2/', https), { insecureTls: this.insecure, timeoutMs: 30_000 }),
      );
      discard(res);
      return https;
    } catch (e) {
      if (mayUseHttp && isPlainHttpServerError(e)) return new URL(`http://${host}/`);
      if (isCertificateError(e)) {
        throw new UserError(
          `${this.registry}: TLS certificate not trusted (${(e as Error).message}); add its CA with SSL_CERT_FILE or NODE_EXTRA_CA_CERTS, or name it with --insecure-registry`,
        );
      }
      throw this.networkError(e, 'GET /v2/');
    }
  }

  private networkError(e: unknown, what: string): UserError {
    if (e instanceof UserError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    const attempts = attemptsOf(e);
    return new UserError(`${displayRegistry(this.registry)}: ${what}: ${msg}${attempts > 1 ? ` (gave up after ${attempts} attempts)` : ''}`, { cause: e });
  }

  /**
   * One request with auth and redirects, no retries. A 401 is answered once through the
   * authorizer; 5xx/429 become RetryableError so callers' retry loops can act on them.
   */
  async send(
    method: string,
    path: string | URL,
    o: { scopes: string[]; headers?: Record<string, string | undefined>; body?: Buffer | (() => Readable); okStatuses?: number[] },
  ): Promise<HttpResponse> {
    const base = await this.endpoint();
    let url = typeof path === 'string' ? new URL(path, base) : path;
    let authRetried = false;
    for (let hop = 0; hop < 10; hop++) {
      const sameHost = url.host === base.host;
      const headers = { ...o.headers };
      if (sameHost) {
        const a = await this.auth.header(o.scopes);
        if (a) headers.authorization = a;
      }
      this.stats.requests++;
      const res = await rawRequest(url, { method, headers, body: o.body, insecureTls: sameHost && this.insecure });
      if (res.status === 401 && sameHost && !authRetried) {
        const www = res.headers['www-authenticate'];
        discard(res);
        if (await this.auth.challenge(Array.isArray(www) ? www.join(', ') : www, o.scopes)) {
          authRetried = true;
          continue;
        }
        throw await this.authError(o.scopes);
      }
      if (res.status === 401 || res.status === 403) {
        discard(res);
        throw await this.authError(o.scopes, res.status);
      }
      if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location && (method === 'GET' || method === 'HEAD')) {
        discard(res);
        url = new URL(res.headers.location, url);
        continue;
      }
      if (isRetryableStatus(res.status) && !o.okStatuses?.includes(res.status)) {
        const body = method === 'HEAD' ? '' : (await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
        const ra = retryAfterMs(res.headers['retry-after']);
        throw new RetryableError(`HTTP ${res.status}${summarizeErrors(body)}`, res.status === 429 || res.status === 503 ? ra : undefined);
      }
      return res;
    }
    throw new UserError(`${this.registry}: too many redirects for ${method} ${url.pathname}`);
  }

  private async authError(scopes: string[], status = 401): Promise<UserError> {
    const who = (await this.auth.hasCredentials()) ? 'the saved credentials were refused' : 'authentication required (run `stagecraft login`)';
    const repos = scopes.map((s) => s.split(':')[1]).join(', ');
    return new UserError(`${displayRegistry(this.registry)}: access to ${repos} denied (HTTP ${status}): ${who}`);
  }

  /** `send` with retries; exhausted retries become a one-line UserError. */
  async request(
    method: string,
    path: string | URL,
    o: { scopes: string[]; headers?: Record<string, string | undefined>; body?: Buffer | (() => Readable); okStatuses?: number[] },
  ): Promise<HttpResponse> {
    const what = `${method} ${typeof path === 'string' ? path : path.pathname}`;
    try {
      return await withRetries(this.retryPolicy(what), () => this.send(method, path, o));
    } catch (e) {
      throw this.networkError(e, what);
    }
  }

  private retryPolicy(what: string): RetryPolicy {
    return {
      ...this.policy,
      onRetry: (_n, why, delay) => {
        this.stats.retries++;
        this.opts.onRetry?.(what, why, delay);
      },
    };
  }

  /** Turns an unexpected response into a UserError with the registry's own error text. */
  async unexpected(res: HttpResponse, what: string): Promise<UserError> {
    const body = (await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
    return new UserError(`${displayRegistry(this.registry)}: ${what}: HTTP ${res.status}${summarizeErrors(body)}`);
  }

  /** Fetches a manifest or index by tag or digest; verifies a digest reference. */
  async getManifest(repo: string, reference: string, familiar?: string): Promise<FetchedManifest> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, { scopes: [pullScope(repo)], headers: { accept: MANIFEST_ACCEPT } });
    const name = familiar ?? `${this.registry}/${repo}:${reference}`;
    if (res.status === 404) {
      discard(res);
      throw new UserError(`manifest for ${name} not found: manifest unknown`);
    }
    if (res.status !== 200) throw await this.unexpected(res, `GET manifest ${name}`);
    const bytes = await readBody(res, 4 * 1024 * 1024);
    const alg = reference.includes(':') ? reference.split(':')[0]! : 'sha256';
    const digest = digestOf(bytes, alg);
    if (reference.includes(':') && digest !== reference) {
      throw new UserError(`manifest for ${name}: digest mismatch (registry sent ${digest})`);
    }
    let mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    let parsed: { mediaType?: string; schemaVersion?: number; manifests?: unknown; config?: unknown };
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new UserError(`manifest for ${name} is not valid JSON`);
    }
    if (parsed.mediaType) mediaType = parsed.mediaType;
    else if (![MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifest, MediaType.DockerManifestList].includes(mediaType as never)) {
      mediaType = parsed.manifests ? MediaType.OciIndex : MediaType.OciManifest;
    }
    if (parsed.schemaVersion === 1 || mediaType.startsWith('application/vnd.docker.distribution.manifest.v1')) {
      throw new UserError(`${name}: Docker image manifest schema 1 is not supported (deprecated since 2017)`);
    }
    return { bytes, mediaType, digest };
  }

  /** HEAD /blobs: true when the repository has the blob. */
  async hasBlob(repo: string, digest: string, scopes = [pullScope(repo)]): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, { scopes });
    discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new UserError(`${displayRegistry(this.registry)}: HEAD blob ${shortDigest(digest)}: HTTP ${res.status}`);
  }

  /**
   * Downloads a blob into `file`, verifying size and digest. Resumes with Range after a dropped
   * connection. `onProgress(bytes)` is called as data arrives.
   */
  async downloadBlob(
    repo: string,
    desc: { digest: string; size: number },
    file: string,
    onProgress?: (done: number) => void,
    onRetry?: (why: string) => void,
  ): Promise<void> {
    const alg = desc.digest.split(':')[0]!;
    if (!['sha256', 'sha512', 'sha384'].includes(alg)) throw new UserError(`blob ${desc.digest}: unsupported digest algorithm`);
    const fh = await open(file, 'w');
    let hash = createHash(alg);
    let have = 0;
    const restart = async () => {
      hash = createHash(alg);
      have = 0;
      await fh.truncate(0);
      onProgress?.(0);
    };
    const what = `blob ${desc.digest} from ${this.registry}/${repo}`;
    try {
      await withRetries(
        {
          ...this.policy,
          onRetry: (_n, why, delay) => {
            this.stats.retries++;
            onRetry?.(why);
            this.opts.onRetry?.(what, why, delay);
          },
        },
        async () => {
          const headers: Record<string, string> = {};
          if (have > 0) headers.range = `bytes=${have}-`;
          const res = await this.send('GET', `/v2/${repo}/blobs/${desc.digest}`, { scopes: [pullScope(repo)], headers });
          if (res.status === 206 && have > 0) {
            const cr = String(res.headers['content-range'] ?? '');
            const m = /^bytes (\d+)-/.exec(cr);
            if (!m || Number(m[1]) !== have) {
              discard(res);
              await restart();
              throw new RetryableError(`registry answered Range with ${cr || 'no Content-Range'}`);
            }
          } else if (res.status === 200) {
            if (have > 0) await restart();
          } else if (res.status === 404) {
            discard(res);
            throw new UserError(`${what}: blob unknown to registry`);
          } else {
            throw await this.unexpected(res, `GET ${what}`);
          }
          try {
            for await (const chunk of res.body as AsyncIterable<Buffer>) {
              if (have + chunk.length > desc.size) {
                res.body.destroy();
                await restart();
                throw new RetryableError(`body is larger than the ${desc.size} bytes the manifest says`);
              }
              hash.update(chunk);
              await fh.write(chunk, 0, chunk.length, have);
              have += chunk.length;
              this.stats.bytesDownloaded += chunk.length;
              onProgress?.(have);
            }
          } catch (e) {
            if (e instanceof RetryableError) throw e;
            throw new RetryableError(`connection dropped after ${have} of ${desc.size} bytes (${(e as Error).message})`);
          }
          if (have < desc.size) throw new RetryableError(`body ended after ${have} of ${desc.size} bytes`);
          const got = `${alg}:${hash.digest('hex')}`;
          if (got !== desc.digest) {
            await restart();
            throw new RetryableError(`digest mismatch: content hashes to ${got}`);
          }
        },
      );
    } catch (e) {
      await fh.truncate(0).catch(() => {});
      if (e instanceof UserError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      const n = attemptsOf(e);
      throw new UserError(`${what}: ${msg}${n > 1 ? ` (gave up after ${n} attempts)` : ''}`, { cause: e });
    } finally {
      await fh.close();
    }
  }

  /** Tries a cross-repository mount. Returns true when mounted (201). */
  async mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    const res = await this.request('POST', `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
      scopes: [pushScope(repo), pullScope(from)],
    });
    discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // the registry opened an upload instead: cancel it, the caller uploads normally
      const loc = res.headers.location;
      if (loc) {
        const base = await this.endpoint();
        await this.send('DELETE', new URL(loc, base), { scopes: [pushScope(repo)] }).then(discard, () => {});
      }
      return false;
    }
    return false;
  }

  /**
   * Uploads a blob: POST to open a session, then one PUT with the body (size ≤ chunkSize), or
   * PATCH chunks of `chunkSize` followed by a closing PUT. The whole upload is retried from the
   * start on failure. `openRange(start, end)` must return a fresh stream of bytes [start, end].
   */
  async uploadBlob(
    repo: string,
    desc: { digest: string; size: number },
    openRange: (start: number, end: number) => Readable,
    opts: { chunkSize?: number; onProgress?: (done: number) => void } = {},
  ): Promise<void> {
    const scopes = [pushScope(repo)];
    const chunkSize = Math.max(1, opts.chunkSize ?? 32 * 1024 * 1024);
    const what = `upload of ${desc.digest} to ${this.registry}/${repo}`;
    const base = await this.endpoint();
    try {
      await withRetries(this.retryPolicy(what), async () => {
        const start = await this.send('POST', `/v2/${repo}/blobs/uploads/`, { scopes });
        discard(start);
        if (start.status !== 202 || !start.headers.location) throw await this.unexpected(start, `POST ${what}`);
        let loc = new URL(start.headers.location, base);
        const octet = 'application/octet-stream';
        if (desc.size <= chunkSize) {
          loc.searchParams.set('digest', desc.digest);
          const res = await this.send('PUT', loc, {
            scopes,
            headers: { 'content-type': octet, 'content-length': String(desc.size) },
            body: desc.size === 0 ? Buffer.alloc(0) : () => openRange(0, desc.size - 1),
          });
          if (res.status !== 201) throw await this.unexpected(res, `PUT ${what}`);
          discard(res);
          this.stats.bytesUploaded += desc.size;
          opts.onProgress?.(desc.size);
          return;
        }
        for (let off = 0; off < desc.size; off += chunkSize) {
          const end = Math.min(desc.size, off + chunkSize) - 1;
          const res = await this.send('PATCH', loc, {
            scopes,
            headers: { 'content-type': octet, 'content-length': String(end - off + 1), 'content-range': `${off}-${end}` },
            body: () => openRange(off, end),
          });
          if (res.status !== 202 || !res.headers.location) throw await this.unexpected(res, `PATCH ${what}`);
          discard(res);
          loc = new URL(res.headers.location, base);
          this.stats.bytesUploaded += end - off + 1;
          opts.onProgress?.(end + 1);
        }
        loc.searchParams.set('digest', desc.digest);
        const fin = await this.send('PUT', loc, { scopes, headers: { 'content-length': '0' } });
        if (fin.status !== 201) throw await this.unexpected(fin, `PUT ${what}`);
        discard(fin);
      });
    } catch (e) {
      throw this.networkError(e, what);
    }
  }

  /** PUTs a manifest under a tag or digest; returns the digest the registry reports. */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, {
      scopes: [pushScope(repo)],
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200) throw await this.unexpected(res, `PUT manifest ${repo}:${reference}`);
    discard(res);
    const expected = digestOf(bytes);
    const got = String(res.headers['docker-content-digest'] ?? expected);
    if (got !== expected) throw new UserError(`${this.registry}/${repo}: registry stored the manifest as ${got}, expected ${expected}`);
    return expected;
  }

  /** Checks that the registry answers and that we may access it (used by `login`). */
  async checkAccess(): Promise<void> {
    const res = await this.request('GET', '/v2/', { scopes: [] });
    discard(res);
    if (res.status !== 200) throw new UserError(`${displayRegistry(this.registry)}: GET /v2/ answered HTTP ${res.status}`);
  }
}

/** `{"errors":[{"code":"X","message":"y"}]}` → `: X: y` (or the first line of a text body). */
export function summarizeErrors(body: string): string {
  if (!body) return '';
  try {
    const j = JSON.parse(body) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    if (Array.isArray(j.errors) && j.errors.length) {
      return `: ${j.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ')}`;
    }
  } catch {
    /* not JSON */
  }
  const line = body.trim().split('\n')[0]!.slice(0, 200);
  return line ? `: ${line}` : '';
}

export { isRetryableNetworkError, shortDigest, digestOf };
