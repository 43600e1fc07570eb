/**
 * The HTTP layer under the registry client: one request in, a status + headers + body stream out,
 * over node:http / node:https with keep-alive agents. It owns the transport decisions:
 *
 * - TLS everywhere except loopback registries (`localhost`, 127.0.0.0/8, ::1) and those named as
 *   insecure (`--insecure-registry`, `STAGECRAFT_INSECURE_REGISTRIES`, `insecure-registries` in
 *   /etc/docker/daemon.json), which may fall back to plain HTTP when the server does not speak TLS.
 *   Certificates are always verified, except for registries named insecure.
 * - Trusted CAs: Node's bundled roots + `SSL_CERT_FILE` + `NODE_EXTRA_CA_CERTS` +
 *   `/etc/docker/certs.d/<host>/*.crt` (so a private CA works without flags).
 * - Retries (`withRetries`): dropped connections, 5xx and 429 (honouring `Retry-After`), with
 *   exponential backoff and jitter. Bounded by `STAGECRAFT_REGISTRY_RETRIES` (default 5 attempts).
 *
 * We use node:https rather than global fetch because a private CA must be passed per connection
 * (fetch's dispatcher API is not public in Node 20 without the undici package) and because blob
 * resume needs the raw byte stream and precise error points.
 */
import type { Agent as HttpsAgent, RequestOptions as HttpsRequestOptions } from 'node:https';
import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { UserError } from '../util/errors.js';
import { lazyBuiltin } from '../util/builtin.js';

const http = lazyBuiltin<typeof import('node:http')>('node:http');
const https = lazyBuiltin<typeof import('node:https')>('node:https');
const tls = lazyBuiltin<typeof import('node:tls')>('node:tls');

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | undefined>;
  /** A Buffer, or a factory for a fresh stream (bodies must be re-creatable for retries). */
  body?: Buffer | (() => Readable);
  /** Skip certificate verification (only for registries named insecure). */
  insecureTls?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

let caCache: string[] | undefined;
const hostCaCache = new Map<string, string[]>();

function readPemFile(p: string | undefined): string[] {
  if (!p) return [];
  try {
    return [readFileSync(p, 'utf8')];
  } catch {
    return [];
  }
}

/** Bundled roots plus any CA files the environment names. */
export function trustedCAs(hostname?: string): string[] {
  if (!caCache) {
    caCache = [...tls().rootCertificates, ...readPemFile(process.env.SSL_CERT_FILE), ...readPemFile(process.env.NODE_EXTRA_CA_CERTS)];
  }
  if (!hostname) return caCache;
  let extra = hostCaCache.get(hostname);
  if (!extra) {
    extra = [];
    const dir = join(process.env.STAGECRAFT_DOCKER_CERTS_DIR ?? '/etc/docker/certs.d', hostname);
    if (existsSync(dir)) {
      for (const f of readdirSync(dir)) if (f.endsWith('.crt')) extra.push(...readPemFile(join(dir, f)));
    }
    hostCaCache.set(hostname, extra);
  }
  return extra.length ? [...caCache, ...extra] : caCache;
}

let plainAgent: HttpAgent | undefined;
const httpAgent = (): HttpAgent => (plainAgent ??= new (http().Agent)({ keepAlive: true, maxSockets: 16 }));
const httpsAgents = new Map<string, HttpsAgent>();
function httpsAgent(host: string, insecure: boolean): HttpsAgent {
  const key = `${host}|${insecure}`;
  let a = httpsAgents.get(key);
  if (!a) {
    a = new (https().Agent)({ keepAlive: true, maxSockets: 16, ca: trustedCAs(host), rejectUnauthorized: !insecure });
    httpsAgents.set(key, a);
  }
  return a;
}

/** One HTTP exchange, no retries, no redirects. Resolves once the headers are in. */
export function rawRequest(url: URL, opts: RequestOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = { 'user-agent': 'stagecraft/0.1' };
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    let bodyStream: Readable | undefined;
    if (Buffer.isBuffer(opts.body)) headers['content-length'] = String(opts.body.length);
    else if (opts.body) bodyStream = opts.body();
    else if (opts.method && !['GET', 'HEAD', 'DELETE'].includes(opts.method)) headers['content-length'] ??= '0';
    const reqOpts: HttpsRequestOptions = {
      method: opts.method ?? 'GET',
      headers,
      agent: isHttps ? httpsAgent(url.host, !!opts.insecureTls) : httpAgent(),
      signal: opts.signal,
    };
    const req = (isHttps ? https() : http()).request(url, reqOpts, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    const timeout = opts.timeoutMs ?? Number(process.env.STAGECRAFT_REGISTRY_TIMEOUT_MS ?? 60_000);
    req.setTimeout(timeout, () => req.destroy(Object.assign(new Error(`no response from ${url.host} in ${timeout} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (Buffer.isBuffer(opts.body)) req.end(opts.body);
    else if (bodyStream) {
      bodyStream.on('error', (e) => req.destroy(e));
      bodyStream.pipe(req);
    } else req.end();
  });
}

/** Reads a whole (small) body; rejects if larger than `limit`. */
export async function readBody(res: HttpResponse, limit = 8 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new UserError(`response from ${res.url.host} is larger than ${limit} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Drains and discards a body so the connection can be reused. */
export function discard(res: HttpResponse): void {
  res.body.resume();
  res.body.on('error', () => {});
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

/** A network failure worth retrying (connection reset, refused, timeout, truncated body). */
export function isRetryableNetworkError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code;
  if (code && RETRYABLE_CODES.has(code)) return true;
  return /socket hang up|aborted|premature close|truncated/i.test(e.message);
}

/** A TLS failure that means "this server speaks plain HTTP". */
export function isPlainHttpServerError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|http request/i.test(e.message);
}

/** A certificate verification failure (unknown CA, bad name, expired). */
export function isCertificateError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code);
}

/** Thrown inside an attempt to ask `withRetries` to try again (after `delayMs` if given). */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly delayMs?: number,
  ) {
    super(message);
  }
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  onRetry?: (attempt: number, why: string, delayMs: number) => void;
}

export function defaultRetryPolicy(): RetryPolicy {
  return {
    attempts: Math.max(1, Number(process.env.STAGECRAFT_REGISTRY_RETRIES ?? 5)),
    baseDelayMs: Number(process.env.STAGECRAFT_REGISTRY_BACKOFF_MS ?? 300),
    maxDelayMs: 15_000,
  };
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP date), capped at 60 s. */
export function retryAfterMs(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  const secs = Number(s);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(s) - Date.now();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), 60_000);
}

/** Is this HTTP status worth retrying? (5xx except 501/505, 408, 429) */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

const attemptsMade = new WeakMap<object, number>();
/** How many attempts `withRetries` made before giving up with `e` (1 when it was not retried). */
export function attemptsOf(e: unknown): number {
  return (e !== null && typeof e === 'object' ? attemptsMade.get(e) : undefined) ?? 1;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` until it succeeds, retrying RetryableError and retryable network errors with
 * exponential backoff; the last error is rethrown.
 */
export async function withRetries<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      const retryable = e instanceof RetryableError || isRetryableNetworkError(e);
      if (!retryable || attempt >= policy.attempts) {
        if (e && typeof e === 'object') attemptsMade.set(e, attempt);
        throw e;
      }
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delay = e instanceof RetryableError && e.delayMs !== undefined ? e.delayMs : backoff * (0.5 + Math.random() / 2);
      policy.onRetry?.(attempt, e instanceof Error ? e.message : String(e), delay);
      await sleep(delay);
    }
  }
}

/** Is this host a loopback address (plain HTTP allowed)? */
export function isLoopbackHost(hostport: string): boolean {
  const h = hostport.startsWith('[') ? hostport.slice(1, hostport.indexOf(']')) : hostport.replace(/:\d+$/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

let daemonInsecure: string[] | undefined;
/** Registries named insecure in /etc/docker/daemon.json (`insecure-registries`). */
function daemonJsonInsecure(): string[] {
  if (daemonInsecure) return daemonInsecure;
  daemonInsecure = [];
  const p = process.env.STAGECRAFT_DAEMON_JSON ?? '/etc/docker/daemon.json';
  try {
    const j = JSON.parse(readFileSync(p, 'utf8')) as { 'insecure-registries'?: unknown };
    if (Array.isArray(j['insecure-registries'])) daemonInsecure = j['insecure-registries'].map(String);
  } catch {
    /* absent or unreadable: none */
  }
  return daemonInsecure;
}

/** Is `registry` (host[:port]) named insecure by flag, env or daemon.json? CIDRs are not supported. */
export function isNamedInsecure(registry: string, extra: string[] = []): boolean {
  const env = (process.env.STAGECRAFT_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const all = [...extra, ...env, ...daemonJsonInsecure()].map((s) => s.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '').toLowerCase());
  const r = registry.toLowerCase();
  const hostOnly = r.replace(/:\d+$/, '');
  return all.includes(r) || all.includes(hostOnly);
}
