/**
 * Registry credentials and authorization: Docker's config file in, `Authorization` headers out.
 *
 * - Credentials come from `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), looked
 *   up like the docker CLI: `credHelpers[host]`, then `credsStore`, then `auths[host]` (keys may
 *   carry a scheme or path; Docker Hub is `https://index.docker.io/v1/`). Helpers are run as
 *   `docker-credential-<name> get|store|erase` with the server URL / JSON on stdin.
 * - `login`/`logout` write the same file (or the helper), so `docker login` sessions and ours are
 *   interchangeable.
 * - `Authorizer` answers 401 challenges: `Basic` re-sends with the credentials; `Bearer realm=…,
 *   service=…,scope=…` fetches a token from the realm (anonymously if there are no credentials,
 *   by refresh-token POST when only an identity token is known) and caches it per scope set
 *   until it expires.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile, mkdir, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { authConfigKey, normalizeRegistryHost, DEFAULT_DOMAIN } from '../reference/reference.js';
import { rawRequest, readBody, type RequestOptions } from './http.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker's `identitytoken`, a helper's `<token>` username). */
  identityToken?: string;
  /** A ready bearer token (`registrytoken`). */
  registryToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
}

export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export function dockerConfigDir(): string {
  return process.env.DOCKER_CONFIG || join(homedir(), '.docker');
}

export function dockerConfigPath(): string {
  return join(dockerConfigDir(), 'config.json');
}

export async function loadDockerConfig(): Promise<DockerConfigFile> {
  const p = dockerConfigPath();
  let text: string;
  try {
    text = await readFile(p, 'utf8');
  } catch {
    return {};
  }
  if (text.trim() === '') return {};
  try {
    const j = JSON.parse(text) as unknown;
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error('not an object');
    return j as DockerConfigFile;
  } catch (e) {
    throw new UserError(`${p}: invalid JSON: ${(e as Error).message}`);
  }
}

async function saveDockerConfig(cfg: DockerConfigFile): Promise<void> {
  const p = dockerConfigPath();
  await mkdir(dockerConfigDir(), { recursive: true, mode: 0o700 });
  const tmpP = `${p}.${process.pid}.tmp`;
  await writeFile(tmpP, `${JSON.stringify(cfg, null, '\t')}\n`, { mode: 0o600 });
  await rename(tmpP, p);
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin. */
function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const bin = `docker-credential-${helper}`;
    const p = spawn(bin, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', (e: NodeJS.ErrnoException) =>
      reject(new UserError(e.code === 'ENOENT' ? `credential helper ${bin} not found in PATH (named in ${dockerConfigPath()})` : `${bin}: ${e.message}`)),
    );
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
}

function helperFor(cfg: DockerConfigFile, registry: string): string | undefined {
  const key = authConfigKey(registry);
  for (const [k, v] of Object.entries(cfg.credHelpers ?? {})) {
    if (k === key || normalizeRegistryHost(k) === registry) return v;
  }
  return cfg.credsStore || undefined;
}

function decodeEntry(e: AuthEntry): Credentials {
  const c: Credentials = {};
  if (e.auth) {
    const s = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = s.indexOf(':');
    if (i > 0) {
      c.username = s.slice(0, i);
      c.password = s.slice(i + 1);
    }
  }
  if (e.username) c.username = e.username;
  if (e.password) c.password = e.password;
  if (e.identitytoken) c.identityToken = e.identitytoken;
  if (e.registrytoken) c.registryToken = e.registrytoken;
  return c;
}

/** Credentials for `registry` (a normalized host like `docker.io` or `127.0.0.1:5000`), if any. */
export async function getCredentials(registry: string): Promise<Credentials | undefined> {
  const cfg = await loadDockerConfig();
  const helper = helperFor(cfg, registry);
  if (helper) {
    const r = await runHelper(helper, 'get', authConfigKey(registry));
    if (r.code !== 0) {
      if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined;
      throw new UserError(`docker-credential-${helper} get failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    }
    try {
      const j = JSON.parse(r.stdout) as { Username?: string; Secret?: string };
      if (!j.Secret) return undefined;
      return j.Username === '<token>' ? { identityToken: j.Secret } : { username: j.Username, password: j.Secret };
    } catch {
      throw new UserError(`docker-credential-${helper} get printed invalid JSON`);
    }
  }
  const key = authConfigKey(registry);
  const auths = cfg.auths ?? {};
  const entry = auths[key] ?? Object.entries(auths).find(([k]) => normalizeRegistryHost(k) === registry)?.[1];
  if (!entry) return undefined;
  const c = decodeEntry(entry);
  return c.username || c.identityToken || c.registryToken ? c : undefined;
}

/** Saves credentials where `docker login` would (helper or `auths`). */
export async function storeCredentials(registry: string, creds: { username: string; password: string }): Promise<string> {
  const cfg = await loadDockerConfig();
  const key = authConfigKey(registry);
  const helper = helperFor(cfg, registry);
  if (helper) {
    const r = await runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }));
    if (r.code !== 0) throw new UserError(`docker-credential-${helper} store failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    // docker keeps an empty entry so `auths` lists the registry
    cfg.auths = { ...(cfg.auths ?? {}), [key]: {} };
  } else {
    cfg.auths = { ...(cfg.auths ?? {}), [key]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
  }
  await saveDockerConfig(cfg);
  return dockerConfigPath();
}

/** Removes saved credentials; returns false when there were none. */
export async function eraseCredentials(registry: string): Promise<boolean> {
  const cfg = await loadDockerConfig();
  const key = authConfigKey(registry);
  let found = false;
  const helper = helperFor(cfg, registry);
  if (helper) {
    const r = await runHelper(helper, 'erase', key);
    if (r.code === 0) found = true;
  }
  for (const k of Object.keys(cfg.auths ?? {})) {
    if (k === key || normalizeRegistryHost(k) === registry) {
      delete cfg.auths![k];
      found = true;
    }
  }
  if (found) await saveDockerConfig(cfg);
  return found;
}

export interface Challenge {
  scheme: string; // lower-case: 'bearer' | 'basic'
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header (one or more challenges). */
export function parseWwwAuthenticate(h: string | undefined): Challenge[] {
  if (!h) return [];
  const out: Challenge[] = [];
  const re = /([A-Za-z][\w-]*)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))?\s*,?\s*/gy;
  let cur: Challenge | undefined;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  const s = h.trim();
  while (re.lastIndex < s.length && (m = re.exec(s))) {
    const [, name, quoted, bare] = m;
    if (quoted === undefined && bare === undefined) {
      cur = { scheme: name!.toLowerCase(), params: {} };
      out.push(cur);
    } else if (cur) {
      cur.params[name!.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare!;
    }
    if (m[0] === '') break;
  }
  return out;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Per-registry authorization state: credentials (loaded lazily once), the chosen scheme, and
 * bearer tokens cached by scope set.
 */
export class Authorizer {
  private creds: Credentials | undefined | null = null; // null = not loaded yet
  private basic = false;
  private bearer?: { realm: string; service?: string };
  private tokens = new Map<string, CachedToken>();
  /** Number of token requests made (tests assert the cache works). */
  tokenRequests = 0;

  constructor(
    readonly registry: string,
    private readonly requestOpts: Pick<RequestOptions, 'insecureTls'> = {},
    explicit?: Credentials,
  ) {
    if (explicit) this.creds = explicit;
  }

  async credentials(): Promise<Credentials | undefined> {
    if (this.creds === null) this.creds = await getCredentials(this.registry);
    return this.creds;
  }

  private scopeKey(scopes: string[]): string {
    return [...new Set(scopes)].sort().join(' ');
  }

  /** The header to send for `scopes`, if the scheme is known and a token is cached. */
  async header(scopes: string[]): Promise<string | undefined> {
    if (this.basic) {
      const c = await this.credentials();
      if (c?.username !== undefined) return `Basic ${Buffer.from(`${c.username}:${c.password ?? ''}`).toString('base64')}`;
      return undefined;
    }
    if (this.bearer) {
      const t = this.tokens.get(this.scopeKey(scopes));
      if (t && t.expiresAt > Date.now()) return `Bearer ${t.token}`;
      return `Bearer ${await this.fetchToken(scopes)}`;
    }
    return undefined;
  }

  /**
   * Handles a 401: learns the scheme from the challenge. Returns true when a retry with new
   * credentials makes sense.
   */
  async challenge(wwwAuthenticate: string | undefined, scopes: string[]): Promise<boolean> {
    const chs = parseWwwAuthenticate(wwwAuthenticate);
    const bearer = chs.find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) {
      this.bearer = { realm: bearer.params.realm, service: bearer.params.service };
      this.basic = false;
      this.tokens.delete(this.scopeKey(scopes)); // refused or never fetched: fetch anew
      return true;
    }
    if (chs.some((c) => c.scheme === 'basic')) {
      if (this.basic) return false; // credentials already sent and refused
      const c = await this.credentials();
      if (c?.username === undefined) return false;
      this.basic = true;
      return true;
    }
    return false;
  }

  /** True when credentials are known for this registry. */
  async hasCredentials(): Promise<boolean> {
    const c = await this.credentials();
    return !!(c && (c.username !== undefined || c.identityToken || c.registryToken));
  }

  private async fetchToken(scopes: string[]): Promise<string> {
    const b = this.bearer!;
    const key = this.scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    const creds = await this.credentials();
    if (creds?.registryToken) return creds.registryToken;
    const url = new URL(b.realm);
    let res;
    this.tokenRequests++;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'stagecraft' });
      if (b.service) form.set('service', b.service);
      if (scopes.length) form.set('scope', [...new Set(scopes)].join(' '));
      res = await rawRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        insecureTls: this.requestOpts.insecureTls,
      });
    } else {
      if (b.service) url.searchParams.set('service', b.service);
      for (const s of new Set(scopes)) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds?.username !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
      }
      res = await rawRequest(url, { headers, insecureTls: this.requestOpts.insecureTls });
    }
    const body = await readBody(res, 1024 * 1024);
    if (res.status === 401 || res.status === 403) {
      throw new UserError(`${this.registry}: authentication failed at ${url.origin}${url.pathname} (HTTP ${res.status})${creds ? '' : ': run `stagecraft login`'}`);
    }
    if (res.status !== 200) throw new UserError(`${this.registry}: token server ${url.origin} answered HTTP ${res.status}`);
    let j: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      j = JSON.parse(body.toString('utf8'));
    } catch {
      throw new UserError(`${this.registry}: token server ${url.origin} returned invalid JSON`);
    }
    const token = j.token ?? j.access_token;
    if (!token) throw new UserError(`${this.registry}: token server ${url.origin} returned no token`);
    const ttl = Math.max(60, j.expires_in ?? 60) * 1000;
    // keep a margin so a token does not expire in flight
    this.tokens.set(key, { token, expiresAt: Date.now() + ttl - 10_000 });
    return token;
  }
}

/** Docker Hub's display name for messages. */
export function displayRegistry(registry: string): string {
  return registry === DEFAULT_DOMAIN ? 'Docker Hub' : registry;
}
