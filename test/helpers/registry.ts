/**
 * Real registries for the registry tests: Debian's `docker-registry` (distribution 2.8) started on
 * 127.0.0.1 on a free port with temporary storage, open / htpasswd / TLS (self-signed CA made by
 * openssl here) / token auth. Plus two small servers of our own that sit in front of it:
 *
 * - `FaultProxy`: an HTTP proxy that forwards to the registry and injects faults on matching
 *   requests (connection reset in the middle of a body, 500, 429 + Retry-After, a body with one
 *   byte flipped), and logs every request (method, path, Range, status).
 * - `TokenServer`: a distribution token server (`auth: token:`) that signs RS256 JWTs with an
 *   openssl-made key whose certificate is in the registry's `rootcertbundle` (sent as `x5c`);
 *   anonymous users get pull, known users pull+push, bad passwords 401.
 *
 * Everything started here must be stopped in afterAll (`stop()`); processes are killed by pid.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSign, randomBytes, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tmp, busyboxRootfsTar } from './index.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface CA {
  dir: string;
  caCert: string;
  caKey: string;
}

/** A self-signed CA, made with openssl. */
export function makeCA(dir = tmp('sc-ca-')): CA {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=stagecraft test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'pipe' });
  return { dir, caCert, caKey };
}

/** A server certificate for localhost / 127.0.0.1 signed by `ca`. */
export function makeServerCert(ca: CA): { cert: string; key: string } {
  const key = join(ca.dir, 'server.key');
  const csr = join(ca.dir, 'server.csr');
  const cert = join(ca.dir, 'server.crt');
  const ext = join(ca.dir, 'server.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost'], { stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', ca.caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], { stdio: 'pipe' });
  return { cert, key };
}

export interface RegistryOptions {
  /** htpasswd users (basic auth) */
  htpasswd?: Record<string, string>;
  /** TLS with a fresh self-signed CA */
  tls?: boolean;
  /** token auth against a TokenServer */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export interface RegistryInstance {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  dir: string;
  ca?: CA;
  proc: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

function waitForHttp(url: string, insecure: boolean, timeoutMs: number, proc: ChildProcess, logs: () => string, instance: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (proc.exitCode !== null) return reject(new PortTaken(`docker-registry exited ${proc.exitCode}:\n${logs()}`));
      const mod = url.startsWith('https:') ? https : http;
      const req = mod.get(url, { rejectUnauthorized: !insecure, agent: false }, (res) => {
        res.resume();
        // another spec's registry took the port between freePort() and our bind: not ours
        if (res.headers['x-stagecraft-registry'] !== instance) return reject(new PortTaken(`${url} is answered by another server`));
        resolve();
      });
      req.on('error', () => {
        if (Date.now() > deadline) reject(new Error(`docker-registry did not answer at ${url}:\n${logs()}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** The port went to someone else (or our server could not bind it): try another one. */
class PortTaken extends Error {}

/** Starts `docker-registry serve` on a free loopback port with temporary storage. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryInstance> {
  if (!existsSync(REGISTRY_BIN)) throw new Error(`${REGISTRY_BIN} missing: apt-get install docker-registry`);
  const dir = tmp('sc-registry-');
  const storage = join(dir, 'storage');
  mkdirSync(storage);
  for (let tries = 1; ; tries++) {
    try {
      return await startRegistryOnce(opts, dir, storage);
    } catch (e) {
      if (!(e instanceof PortTaken) || tries >= 5) throw e;
    }
  }
}

async function startRegistryOnce(opts: RegistryOptions, dir: string, storage: string): Promise<RegistryInstance> {
  const port = await freePort();
  // every response names this instance: a server of another spec that got the same port is told apart
  const instance = randomBytes(8).toString('hex');
  const httpCfg: Record<string, unknown> = { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex'), headers: { 'X-Content-Type-Options': ['nosniff'], 'X-Stagecraft-Registry': [instance] } };
  let ca: CA | undefined;
  if (opts.tls) {
    ca = makeCA(join(dir, 'ca'));
    const sc = makeServerCert(ca);
    httpCfg.tls = { certificate: sc.cert, key: sc.key };
  }
  const cfg: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true }, formatter: 'text' },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: httpCfg,
  };
  if (opts.htpasswd) {
    const file = join(dir, 'htpasswd');
    const lines = Object.entries(opts.htpasswd).map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim());
    writeFileSync(file, `${lines.join('\n')}\n`);
    cfg.auth = { htpasswd: { realm: 'stagecraft-test', path: file } };
  } else if (opts.token) {
    cfg.auth = { token: { realm: opts.token.realm, service: opts.token.service, issuer: opts.token.issuer, rootcertbundle: opts.token.rootCertBundle } };
  }
  // JSON is YAML
  const cfgFile = join(dir, 'config.yml');
  writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
  const proc = spawn(REGISTRY_BIN, ['serve', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const host = `127.0.0.1:${port}`;
  const logs = () => out;
  try {
    await waitForHttp(`${opts.tls ? 'https' : 'http'}://${host}/v2/`, true, 15_000, proc, logs, instance);
  } catch (e) {
    await killProc(proc);
    throw e;
  }
  return {
    host,
    port,
    dir,
    ca,
    proc,
    logs,
    stop: () => killProc(proc),
  };
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process is gone. */
export function killProc(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

export type FaultKind = 'reset-mid-body' | 'status-500' | 'status-429' | 'wrong-digest' | 'reset-before-response' | 'delay';

export interface Fault {
  /** matched against `METHOD /path?query` */
  match: RegExp;
  kind: FaultKind;
  /** how many matching requests to break (Infinity = all) */
  times: number;
  /** seconds, for 429 */
  retryAfter?: number;
  /** milliseconds, for `delay` (the request is then forwarded normally) */
  delayMs?: number;
}

export interface ProxyLogEntry {
  method: string;
  path: string;
  range?: string;
  status?: number;
  fault?: FaultKind;
  /** when the request arrived / when the response was finished (ms since epoch) */
  time: number;
  end?: number;
}

/** A fault-injecting HTTP proxy in front of an upstream registry (plain HTTP). */
export class FaultProxy {
  faults: Fault[] = [];
  log: ProxyLogEntry[] = [];
  port = 0;
  private server?: http.Server;
  private sockets = new Set<net.Socket>();
  constructor(private readonly upstream: { host: string; port: number }) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  addFault(f: Fault): void {
    this.faults.push(f);
  }

  clear(): void {
    this.faults = [];
    this.log = [];
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private takeFault(key: string): Fault | undefined {
    const f = this.faults.find((x) => x.times > 0 && x.match.test(key));
    if (f) f.times--;
    return f;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const key = `${req.method} ${req.url}`;
    const entry: ProxyLogEntry = { method: req.method ?? '', path: req.url ?? '', range: req.headers.range, time: Date.now() };
    this.log.push(entry);
    res.on('close', () => (entry.end = Date.now()));
    const fault = this.takeFault(key);
    if (fault) entry.fault = fault.kind;
    if (fault?.kind === 'delay') {
      setTimeout(() => this.forward(req, res, entry, undefined), fault.delayMs ?? 300);
      return;
    }
    if (fault?.kind === 'status-500') {
      req.resume();
      entry.status = 500;
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}');
      return;
    }
    if (fault?.kind === 'status-429') {
      req.resume();
      entry.status = 429;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(fault.retryAfter ?? 1) });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return;
    }
    if (fault?.kind === 'reset-before-response') {
      req.resume();
      req.socket.destroy();
      return;
    }
    this.forward(req, res, entry, fault);
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, entry: ProxyLogEntry, fault: Fault | undefined): void {
    const up = http.request(
      { host: this.upstream.host, port: this.upstream.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (ures) => {
        entry.status = ures.statusCode;
        if (fault?.kind === 'reset-mid-body' || fault?.kind === 'wrong-digest') {
          const chunks: Buffer[] = [];
          ures.on('data', (c: Buffer) => chunks.push(c));
          ures.on('end', () => {
            const body = Buffer.concat(chunks);
            res.writeHead(ures.statusCode ?? 502, ures.headers);
            if (fault.kind === 'wrong-digest') {
              if (body.length) body[Math.floor(body.length / 2)] ^= 0xff;
              res.end(body);
            } else {
              // half the body, then a hard reset
              res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
                setTimeout(() => req.socket.resetAndDestroy?.() ?? req.socket.destroy(), 20);
              });
            }
          });
          return;
        }
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  }
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

export interface TokenRequest {
  scopes: string[];
  user?: string;
  status: number;
}

/** A distribution-compatible token server signing RS256 JWTs (cert chain in `x5c`). */
export class TokenServer {
  readonly service = 'stagecraft-test-registry';
  readonly issuer = 'stagecraft-test-issuer';
  readonly certFile: string;
  private readonly keyPem: string;
  private readonly certDer: Buffer;
  requests: TokenRequest[] = [];
  port = 0;
  private server?: http.Server;
  constructor(
    private readonly users: Record<string, string>,
    dir = tmp('sc-token-'),
  ) {
    const key = join(dir, 'token.key');
    this.certFile = join(dir, 'token.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', this.certFile, '-days', '2', '-subj', '/CN=stagecraft token signer'], { stdio: 'pipe' });
    this.keyPem = readFileSync(key, 'utf8');
    const pem = readFileSync(this.certFile, 'utf8');
    this.certDer = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  }

  get realm(): string {
    return `http://127.0.0.1:${this.port}/token`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** OAuth2 refresh tokens (docker's `identitytoken`) → user */
  refreshTokens: Record<string, string> = {};

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'POST') {
      // OAuth2 form: grant_type=refresh_token&refresh_token=…&service=…&scope=…
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const user = form.get('grant_type') === 'refresh_token' ? this.refreshTokens[form.get('refresh_token') ?? ''] : undefined;
        if (!user || form.get('service') !== this.service) {
          this.requests.push({ scopes, user: undefined, status: 401 });
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end('{"error":"invalid_grant"}');
          return;
        }
        this.issue(res, scopes, user);
      });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (this.users[u!] === undefined || this.users[u!] !== p.join(':')) {
        this.requests.push({ scopes, user: u, status: 401 });
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"details":"incorrect username or password"}');
        return;
      }
      user = u;
    }
    if (url.pathname !== '/token' || url.searchParams.get('service') !== this.service) {
      this.requests.push({ scopes, user, status: 400 });
      res.writeHead(400);
      res.end('bad request');
      return;
    }
    this.issue(res, scopes, user);
  }

  private issue(res: http.ServerResponse, scopes: string[], user: string | undefined): void {
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      const name = rest.join(':');
      const allowed = actions.filter((a) => a === 'pull' || (user !== undefined && (a === 'push' || a === 'delete')));
      return { type, name, actions: allowed };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [this.certDer.toString('base64')] };
    const claims = { iss: this.issuer, sub: user ?? '', aud: this.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(signingInput).sign(this.keyPem);
    const token = `${signingInput}.${b64url(sig)}`;
    this.requests.push({ scopes, user, status: 200 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  }
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A function that stores a blob in the OCI layout at `dir` and returns its digest and size. */
function layoutBlobWriter(dir: string): (b: Buffer) => { digest: string; size: number } {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  return (b: Buffer) => {
    const d = sha256(b);
    writeFileSync(join(blobs, d.slice(7)), b);
    return { digest: d, size: b.length };
  };
}

/**
 * An OCI image layout with an image index of two platform images (linux/amd64 and linux/arm64,
 * both the busybox rootfs, different configs), built here without stagecraft, for skopeo to push.
 */
export function makeMultiPlatformLayout(dir = tmp('sc-oci-')): { dir: string; indexDigest: string; manifests: Record<string, string> } {
  const put = layoutBlobWriter(dir);
  const rawTar = readFileSync(busyboxRootfsTar());
  const layerGz = gzipSync(rawTar, { level: 1 });
  const layer = put(layerGz);
  const diffId = sha256(rawTar);
  const manifests: Record<string, string> = {};
  const entries = [];
  for (const arch of ['amd64', 'arm64']) {
    const config = put(
      Buffer.from(
        JSON.stringify({
          created: '2024-01-01T00:00:00Z',
          architecture: arch,
          os: 'linux',
          ...(arch === 'arm64' ? { variant: 'v8' } : {}),
          config: { Cmd: ['sh'], Labels: { arch } },
          rootfs: { type: 'layers', diff_ids: [diffId] },
          history: [{ created: '2024-01-01T00:00:00Z', created_by: `test layout ${arch}` }],
        }),
      ),
    );
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    );
    const md = put(m);
    manifests[arch] = md.digest;
    entries.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...md, platform: { architecture: arch, os: 'linux', ...(arch === 'arm64' ? { variant: 'v8' } : {}) } });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
  const idx = put(index);
  // the layout's own index.json points at the image index, tagged `multi`
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...idx, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }),
  );
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return { dir, indexDigest: idx.digest, manifests };
}

/**
 * An OCI image layout holding one linux/<host arch> image of `n` layers (each a tar of one file of
 * random bytes, gzip level 0 so sizes stay as given), tagged `layered`.
 */
export function makeLayeredLayout(n: number, bytesPerLayer: number, dir = tmp('sc-oci-')): { dir: string; manifestDigest: string; layers: string[] } {
  const put = layoutBlobWriter(dir);
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < n; i++) {
    const work = tmp('sc-layer-');
    writeFileSync(join(work, `file${i}`), randomBytes(bytesPerLayer));
    const tarFile = join(work, '..', `${work.split('/').at(-1)}.tar`);
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', work, '-cf', tarFile, `file${i}`]);
    const raw = readFileSync(tarFile);
    diffIds.push(sha256(raw));
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(raw, { level: 0 })) });
  }
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const config = put(Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } })));
  const m = put(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers })),
  );
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'layered' } }] }),
  );
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return { dir, manifestDigest: m.digest, layers: layers.map((l) => l.digest) };
}

/** `skopeo copy --all` from an OCI layout to the registry (plain HTTP / unverified TLS). */
export function skopeoPush(layoutDir: string, tag: string, dest: string): void {
  execFileSync('skopeo', ['copy', '--all', '--dest-tls-verify=false', '--preserve-digests', `oci:${layoutDir}:${tag}`, `docker://${dest}`], { stdio: 'pipe' });
}

/** `skopeo inspect --raw` of a remote manifest. */
export function skopeoRaw(ref: string): string {
  return execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' });
}
